/**
 * Surgery on a loaded base: put a classification head on it, freeze it, unfreeze its later blocks.
 *
 * The classifier re-applies the base's layer objects to a new input, so it shares their weights: training
 * the classifier changes `base.model` too (load a fresh base for an independent experiment). After changing
 * what is trainable, compile again before `fit` (`recompileClassifier`): tfjs collects the trainable weights
 * at compile time.
 */
import * as tf from '@tensorflow/tfjs';
import { derivedSeed } from '../util/random';
import { guardBatchNorm, isBatchNorm } from './batchnorm';
import { reapplyLayers } from './graph';
import type { BlockSpec, HeadOptions, LoadedBase } from './types';
import { DEFAULT_SEED } from '../util/random';

/** Stable layer names of the classifier head (the training code cuts at `pool`). */
export const HEAD_LAYERS = {
  input: 'input_image',
  pool: 'head_pool',
  hidden: 'head_hidden',
  dropout: 'head_dropout',
  output: 'head_output',
} as const;

/** The head's defaults: the Keras guide's dropout of 0.2 and no hidden layer. */
export const CLASSIFIER_DEFAULTS = { dropout: 0.2, hiddenUnits: 0 } as const;

/**
 * Base -> GlobalAveragePooling2D (`head_pool`) -> [Dense ReLU (`head_hidden`)] -> Dropout (`head_dropout`)
 * -> Dense softmax (`head_output`). Weight initializers are seeded from `head.seed`; dropout masks are not
 * (tfjs has no global seed; a seeded dropout layer would reuse one mask). The base starts frozen with BN in
 * inference mode. The caller owns the model: `dispose()` frees the head and the classifier's reference to
 * the base layers, never the base's own reference.
 */
export function buildClassifier(base: LoadedBase, head: HeadOptions): tf.LayersModel {
  const numClasses = head.numClasses;
  const hiddenUnits = head.hiddenUnits ?? CLASSIFIER_DEFAULTS.hiddenUnits;
  const dropout = head.dropout ?? CLASSIFIER_DEFAULTS.dropout;
  const seed = head.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`buildClassifier: numClasses must be an integer >= 2, got ${numClasses}`);
  if (!Number.isInteger(hiddenUnits) || hiddenUnits < 0) throw new Error(`buildClassifier: hiddenUnits must be an integer >= 0, got ${hiddenUnits}`);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`buildClassifier: dropout must be in [0, 1), got ${dropout}`);
  if (!Number.isInteger(seed)) throw new Error(`buildClassifier: seed must be an integer, got ${seed}`);
  const clash = base.model.layers.find((l) => (Object.values(HEAD_LAYERS) as string[]).includes(l.name));
  if (clash) throw new Error(`buildClassifier: the base already has a layer named '${clash.name}', a reserved head layer name`);

  const baseIn = base.model.inputs[0];
  const input = tf.input({ shape: baseIn.shape.slice(1) as number[], name: HEAD_LAYERS.input });
  const [features] = reapplyLayers(base.model.outputs, new Map([[baseIn.id, input]]), (t) => {
    throw new Error(`buildClassifier: the base needs input '${t.sourceLayer.name}' besides its image input; only single-input bases are supported`);
  });
  let x = tf.layers.globalAveragePooling2d({ name: HEAD_LAYERS.pool }).apply(features) as tf.SymbolicTensor;
  if (hiddenUnits > 0) {
    x = tf.layers
      .dense({
        units: hiddenUnits,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: derivedSeed(seed, HEAD_LAYERS.hidden) }),
        name: HEAD_LAYERS.hidden,
      })
      .apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.dropout({ rate: dropout, name: HEAD_LAYERS.dropout }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({
      units: numClasses,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: derivedSeed(seed, HEAD_LAYERS.output) }),
      name: HEAD_LAYERS.output,
    })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output, name: `classifier_${base.spec.id.replace(/[^A-Za-z0-9_]/g, '_')}` });
  freezeBase(model, base);
  return model;
}

/** The base layers of `model`, checked to be the very objects of `base` (not a copy or another base). */
function baseLayersOf(model: tf.LayersModel, base: LoadedBase): Map<string, tf.layers.Layer> {
  const inModel = new Map(model.layers.map((l) => [l.name, l]));
  const out = new Map<string, tf.layers.Layer>();
  for (const block of base.spec.blocks) {
    for (const name of block.layers) {
      const layer = inModel.get(name);
      if (!layer || layer !== base.model.getLayer(name)) {
        throw new Error(`model '${model.name}' was not built from base '${base.spec.id}' (layer '${name}' is missing or a copy); use buildClassifier(base, ...)`);
      }
      out.set(name, layer);
    }
  }
  return out;
}

/** Freezes every base layer (BN in inference mode); everything else in `model` (the head) stays trainable. */
export function freezeBase(model: tf.LayersModel, base: LoadedBase): void {
  const baseLayers = baseLayersOf(model, base);
  model.trainable = true;
  for (const layer of model.layers) {
    const inBase = baseLayers.has(layer.name);
    layer.trainable = !inBase;
    if (inBase) guardBatchNorm(layer, false);
  }
}

export interface UnfreezeOptions {
  /**
   * First block to unfreeze, through the last: a block name (`block_11`), a layer name (its whole block is
   * unfrozen), a block index (0 = stem), or `{ fraction }` of the blocks, counted from the top.
   */
  from: string | number | { fraction: number };
  /**
   * Let BN layers of unfrozen blocks use batch statistics and update their moving statistics. Default false:
   * Keras' fine-tuning recipe, BN stays in inference mode (its gamma and beta still train).
   */
  trainBatchNorm?: boolean;
  /** Keep BN layers of unfrozen blocks fully frozen (gamma and beta too). Default false. */
  freezeBatchNorm?: boolean;
}

/** Resolves `from` to a block of `base`; throws listing the valid blocks. */
export function resolveBlock(base: LoadedBase, from: UnfreezeOptions['from']): BlockSpec {
  const blocks = base.spec.blocks;
  const valid = (): string =>
    blocks.map((b) => `${b.index} ${b.name} (${b.layers[0]}..${b.layers[b.layers.length - 1]})`).join('; ');
  if (typeof from === 'number') {
    if (!Number.isInteger(from) || from < 0 || from >= blocks.length) {
      throw new Error(`unfreeze: block number ${from} is out of range 0..${blocks.length - 1} for base '${base.spec.id}'. Blocks: ${valid()}`);
    }
    return blocks[from];
  }
  if (typeof from === 'string') {
    const block = blocks.find((b) => b.name === from) ?? blocks.find((b) => b.layers.includes(from));
    if (!block) {
      throw new Error(`unfreeze: '${from}' is neither a block nor a layer of base '${base.spec.id}'. Blocks (any of their layers also works): ${valid()}`);
    }
    return block;
  }
  if (from && typeof from === 'object' && typeof from.fraction === 'number') {
    const f = from.fraction;
    if (!(f > 0 && f <= 1)) throw new Error(`unfreeze: fraction must be in (0, 1], got ${f}`);
    return blocks[blocks.length - Math.max(1, Math.round(f * blocks.length))];
  }
  throw new Error(`unfreeze: 'from' must be a block name, layer name, block number or { fraction }, got ${JSON.stringify(from)}`);
}

/**
 * Unfreezes whole blocks from `options.from` to the top of the base (earlier blocks are frozen again), and
 * keeps the head trainable. BN layers stay in inference mode unless `trainBatchNorm`. Compile again before
 * `fit` (`recompileClassifier`). Returns the first unfrozen block and the names of the layers with trainable
 * weights, in network order.
 */
export function unfreezeFrom(
  model: tf.LayersModel,
  base: LoadedBase,
  options: UnfreezeOptions,
): { fromBlock: BlockSpec; trainableLayers: string[] } {
  const baseLayers = baseLayersOf(model, base);
  const fromBlock = resolveBlock(base, options.from);
  const unfrozen = new Set(base.spec.blocks.filter((b) => b.index >= fromBlock.index).flatMap((b) => b.layers));
  model.trainable = true;
  for (const layer of model.layers) {
    if (!baseLayers.has(layer.name)) {
      layer.trainable = true;
      continue;
    }
    const open = unfrozen.has(layer.name);
    const bn = isBatchNorm(layer);
    layer.trainable = open && !(bn && options.freezeBatchNorm);
    if (bn) guardBatchNorm(layer, open && (options.trainBatchNorm ?? false));
  }
  const trainableLayers = model.layers.filter((l) => l.trainable && l.trainableWeights.length > 0).map((l) => l.name);
  return { fromBlock, trainableLayers };
}

export interface RecompileOptions {
  /** Optimizer (an instance, or a name such as 'adam'). */
  optimizer: tf.Optimizer | string;
  /** Default 'categoricalCrossentropy'. */
  loss?: string;
  /** Default ['accuracy']. */
  metrics?: string[];
}

/** Compiles `model` again so that `fit` sees the current trainable flags. */
export function recompileClassifier(model: tf.LayersModel, options: RecompileOptions): void {
  model.compile({ optimizer: options.optimizer, loss: options.loss ?? 'categoricalCrossentropy', metrics: options.metrics ?? ['accuracy'] });
}
