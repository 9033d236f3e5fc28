/**
 * Block structure of a base: which layers are frozen and unfrozen together. Derived from Keras' layer names
 * (MobileNetV2: `block_N_*`; MobileNetV1: `conv_dw_N*` / `conv_pw_N*`), with a generic rule for other models.
 */
import type { BlockSpec } from './types';

/** A layer as the block rules see it: its name and Keras class. */
export interface LayerInfo {
  name: string;
  className: string;
}

export type BlockFamily = 'mobilenet_v2' | 'mobilenet_v1' | 'generic';

/** Guesses the family from the layer names (Keras applications naming). */
export function detectBlockFamily(layers: LayerInfo[]): BlockFamily {
  const names = new Set(layers.map((l) => l.name));
  if (names.has('expanded_conv_project') || names.has('block_1_expand')) return 'mobilenet_v2';
  if (names.has('conv_dw_1') && names.has('conv_pw_1')) return 'mobilenet_v1';
  return 'generic';
}

/** The block name a MobileNetV2 layer belongs to, or undefined when the name says nothing. */
function mobileNetV2Block(name: string): string | undefined {
  const m = /^block_(\d+)_/.exec(name);
  if (m) return `block_${m[1]}`;
  if (/^(Conv1|bn_Conv1|Conv1_pad|Conv1_relu|expanded_conv_.*)$/.test(name)) return 'stem';
  if (/^(Conv_1|Conv_1_bn|out_relu)$/.test(name)) return 'last_conv';
  return undefined;
}

/** The block name a MobileNetV1 layer belongs to (depthwise + pointwise pair N = `block_N`). */
function mobileNetV1Block(name: string): string | undefined {
  const m = /^conv_(?:dw|pw|pad)_(\d+)(?:_|$)/.exec(name);
  if (m) return `block_${m[1]}`;
  if (/^conv1(_|$)/.test(name)) return 'stem';
  return undefined;
}

const KERNEL_CLASSES = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose', 'Dense', 'Conv1D']);

/**
 * Splits `layers` (network order, input layers excluded by the caller or skipped here) into blocks.
 * Named families use their naming; a layer whose name carries no block joins the block before it.
 * Generic models: every layer with a kernel (conv, dense) starts a block that its BN, activation and
 * padding layers join.
 */
export function inferBlocks(layers: LayerInfo[], family: BlockFamily = detectBlockFamily(layers)): BlockSpec[] {
  const blocks: BlockSpec[] = [];
  let current: BlockSpec | undefined;
  for (const layer of layers) {
    if (layer.className === 'InputLayer') continue;
    let name: string | undefined;
    if (family === 'mobilenet_v2') name = mobileNetV2Block(layer.name);
    else if (family === 'mobilenet_v1') name = mobileNetV1Block(layer.name);
    else if (KERNEL_CLASSES.has(layer.className) || !current) name = layer.name;
    if (name === undefined || (current && current.name === name)) {
      if (!current) current = pushBlock(blocks, name ?? layer.name);
      current.layers.push(layer.name);
      current.output = layer.name;
      continue;
    }
    if (blocks.some((b) => b.name === name)) {
      throw new Error(`inferBlocks: layer '${layer.name}' belongs to block '${name}', which ended earlier; layer order is not block order`);
    }
    current = pushBlock(blocks, name);
    current.layers.push(layer.name);
    current.output = layer.name;
  }
  return blocks;
}

function pushBlock(blocks: BlockSpec[], name: string): BlockSpec {
  const block: BlockSpec = { index: blocks.length, name, layers: [], output: '' };
  blocks.push(block);
  return block;
}
