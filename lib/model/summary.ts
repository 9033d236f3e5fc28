/** A typed summary of a model: layers, shapes, parameters, and what is trainable per block. */
import * as tf from '@tensorflow/tfjs';
import { batchNormMode } from './batchnorm';
import { inferBlocks } from './blocks';
import { ancestorTensors } from './graph';
import type { LoadedBase } from './types';

export interface LayerSummary {
  name: string;
  /** Keras class, e.g. `Conv2D`. */
  className: string;
  /** Output shape in this model, batch dimension as null. */
  outputShape: (number | null)[];
  /** All parameters (trainable + non-trainable, BN moving statistics included). */
  params: number;
  /** Parameters `fit` will update. */
  trainableParams: number;
  /** `layer.trainable`. */
  trainable: boolean;
  /** Block the layer belongs to (`input`, a base block, or `head`). */
  block: string;
  /** For BatchNormalization: `inference`, `training` or `unguarded` (tfjs default). */
  batchNorm?: 'inference' | 'training' | 'unguarded';
}

export interface BlockSummary {
  index: number;
  name: string;
  layers: number;
  params: number;
  trainableParams: number;
  frozenParams: number;
  /** `trainable`: every weight trains; `frozen`: none; `partial`: some (e.g. BN moving statistics never do). */
  state: 'trainable' | 'frozen' | 'partial' | 'no-weights';
  /** True when the block's weighted layers are trainable (BN statistics aside). */
  unfrozen: boolean;
}

export interface ModelSummary {
  name: string;
  /** Base id, when the summary was made with a base. */
  base?: string;
  inputShape: (number | null)[];
  outputShape: (number | null)[];
  layers: LayerSummary[];
  blocks: BlockSummary[];
  totalParams: number;
  trainableParams: number;
  frozenParams: number;
  /** A fixed-width text table of the blocks and totals. */
  text: string;
}

const size = (v: tf.LayerVariable): number => v.shape.reduce((a: number, b) => a * (b ?? 1), 1);

/**
 * Summarises `model`. With `base`, layers are grouped by the base's blocks plus `head`; without, blocks are
 * inferred from layer names (MobileNet naming) or one per weighted layer.
 */
export function summarizeModel(model: tf.LayersModel, base?: LoadedBase): ModelSummary {
  const shapes = new Map<string, (number | null)[]>();
  for (const t of ancestorTensors(model.outputs).values()) shapes.set(t.sourceLayer.name, t.shape as (number | null)[]);
  const blockOf = new Map<string, string>();
  const blockNames: string[] = ['input'];
  const blocks = base ? base.spec.blocks : inferBlocks(model.layers.map((l) => ({ name: l.name, className: l.getClassName() })));
  for (const b of blocks) {
    blockNames.push(b.name);
    for (const l of b.layers) blockOf.set(l, b.name);
  }
  if (base) blockNames.push('head');

  const layers: LayerSummary[] = model.layers.map((l) => {
    const params = l.weights.reduce((a, w) => a + size(w), 0);
    const trainableParams = model.trainable && l.trainable ? l.trainableWeights.reduce((a, w) => a + size(w), 0) : 0;
    const block = l.getClassName() === 'InputLayer' ? 'input' : (blockOf.get(l.name) ?? (base ? 'head' : 'other'));
    const mode = batchNormMode(l);
    return {
      name: l.name,
      className: l.getClassName(),
      outputShape: shapes.get(l.name) ?? [],
      params,
      trainableParams,
      trainable: l.trainable,
      block,
      ...(mode ? { batchNorm: mode } : {}),
    };
  });
  if (layers.some((l) => l.block === 'other')) blockNames.push('other');

  const blockSummaries: BlockSummary[] = blockNames
    .map((name) => {
      const members = layers.filter((l) => l.block === name);
      const params = members.reduce((a, l) => a + l.params, 0);
      const trainableParams = members.reduce((a, l) => a + l.trainableParams, 0);
      const weighted = members.filter((l) => l.params > 0 && l.className !== 'BatchNormalization');
      return {
        index: 0,
        name,
        layers: members.length,
        params,
        trainableParams,
        frozenParams: params - trainableParams,
        state: (params === 0 ? 'no-weights' : trainableParams === 0 ? 'frozen' : trainableParams === params ? 'trainable' : 'partial') as BlockSummary['state'],
        unfrozen: weighted.length > 0 && weighted.every((l) => l.trainableParams > 0),
      };
    })
    .filter((b) => b.layers > 0)
    .map((b, index) => ({ ...b, index }));

  const totalParams = layers.reduce((a, l) => a + l.params, 0);
  const trainableParams = layers.reduce((a, l) => a + l.trainableParams, 0);
  const summary: Omit<ModelSummary, 'text'> = {
    name: model.name,
    ...(base ? { base: base.spec.id } : {}),
    inputShape: model.inputs[0].shape as (number | null)[],
    outputShape: model.outputs[0].shape as (number | null)[],
    layers,
    blocks: blockSummaries,
    totalParams,
    trainableParams,
    frozenParams: totalParams - trainableParams,
  };
  return { ...summary, text: summaryTable(summary) };
}

function fmtShape(s: (number | null)[]): string {
  return `[${s.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

function summaryTable(s: Omit<ModelSummary, 'text'>): string {
  const rows = s.blocks.map((b) => {
    const last = [...s.layers].reverse().find((l) => l.block === b.name);
    return [String(b.index), b.name, String(b.layers), fmtShape(last?.outputShape ?? []), b.params.toLocaleString('en-US'), b.trainableParams.toLocaleString('en-US'), b.unfrozen ? 'trainable' : b.state === 'no-weights' ? '-' : 'frozen'];
  });
  const header = ['#', 'block', 'layers', 'output', 'params', 'trainable', 'state'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i >= 4 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [
    `Model ${s.name}${s.base ? ` on base ${s.base}` : ''}: input ${fmtShape(s.inputShape)} -> output ${fmtShape(s.outputShape)}`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    `Total params: ${s.totalParams.toLocaleString('en-US')}; trainable: ${s.trainableParams.toLocaleString('en-US')}; frozen: ${s.frozenParams.toLocaleString('en-US')}`,
  ].join('\n');
}
