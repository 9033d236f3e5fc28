/**
 * Batch sources: where the training loop gets the input tensor of a batch. The same loop runs on raw
 * pixels (the plain path: the whole model, frozen prefix recomputed every step) and on cached activations
 * (the cached path: only the trainable suffix), so both paths see exactly the same batches.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, derivedSeed } from '../util/random';
import type { PixelInput } from './types';

export interface BatchSource {
  /** Number of samples (images). */
  readonly count: number;
  /** Class index per sample. */
  readonly labels: Int32Array;
  /** Shape of one sample's input, e.g. [160, 160, 3] or [1280]. */
  readonly sampleShape: number[];
  /** The input tensor for `indices` in `epoch` (which may pick an augmented view). The caller owns (disposes) it. */
  batch(indices: readonly number[], epoch: number): tf.Tensor;
}

/**
 * The view each image uses in an epoch: with `k` views, drawn from a generator seeded by (`seed`, epoch),
 * so the choice is repeatable and identical for the cached and the plain path.
 */
export function viewsForEpoch(count: number, k: number, seed: number, epoch: number): Int32Array {
  if (k <= 1) return new Int32Array(count);
  const rng = createRng(derivedSeed(seed, `view:${epoch}`));
  return Int32Array.from({ length: count }, () => rng.int(k));
}

/**
 * The plain path's source: uint8 RGB pixels scaled into `range`, one of the pixel views (augmented copies of
 * the same images) per image and epoch, chosen exactly as `FeatureBatchSource` chooses.
 */
export class PixelBatchSource implements BatchSource {
  readonly count: number;
  readonly labels: Int32Array;
  readonly sampleShape: number[];
  private viewEpoch = -1;
  private viewOf: Int32Array = new Int32Array(0);
  private readonly views: PixelInput[];
  constructor(
    views: PixelInput | PixelInput[],
    private readonly range: [number, number],
    private readonly seed = 0,
  ) {
    this.views = Array.isArray(views) ? views : [views];
    if (!this.views.length) throw new Error('PixelBatchSource: at least one view is needed');
    const first = this.views[0];
    for (const v of this.views) {
      if (v.count !== first.count || v.size !== first.size) throw new Error('PixelBatchSource: all views must have the same count and size');
    }
    this.count = first.count;
    this.labels = first.labels;
    this.sampleShape = [first.size, first.size, 3];
  }
  batch(indices: readonly number[], epoch: number): tf.Tensor {
    if (epoch !== this.viewEpoch) {
      this.viewOf = viewsForEpoch(this.count, this.views.length, this.seed, epoch);
      this.viewEpoch = epoch;
    }
    const size = this.views[0].size;
    const per = size * size * 3;
    const out = new Float32Array(indices.length * per);
    const [lo, hi] = this.range;
    const scale = (hi - lo) / 255;
    indices.forEach((idx, b) => {
      if (!(idx >= 0 && idx < this.count)) throw new Error(`PixelBatchSource: index ${idx} out of range [0, ${this.count})`);
      const src = this.views[this.viewOf[idx]].pixels.subarray(idx * per, (idx + 1) * per);
      const off = b * per;
      for (let i = 0; i < per; i++) out[off + i] = src[i] * scale + lo;
    });
    return tf.tensor(out, [indices.length, ...this.sampleShape], 'float32');
  }
}

/** Cached activations of one or more views of the same images: `views[v]` holds `count` samples back to back. */
export interface FeatureViews {
  views: Float32Array[];
  sampleShape: number[];
  labels: Int32Array;
}

/** Serves cached activations; with several views (augmented copies), one per image and epoch (`viewsForEpoch`). */
export class FeatureBatchSource implements BatchSource {
  readonly count: number;
  readonly labels: Int32Array;
  readonly sampleShape: number[];
  private readonly sampleSize: number;
  private viewEpoch = -1;
  private viewOf: Int32Array = new Int32Array(0);
  constructor(
    private readonly features: FeatureViews,
    private readonly seed = 0,
  ) {
    if (!features.views.length) throw new Error('FeatureBatchSource: at least one view is needed');
    this.labels = features.labels;
    this.count = features.labels.length;
    this.sampleShape = features.sampleShape;
    this.sampleSize = features.sampleShape.reduce((a, b) => a * b, 1);
    for (const [v, view] of features.views.entries()) {
      if (view.length !== this.count * this.sampleSize) {
        throw new Error(`FeatureBatchSource: view ${v} has ${view.length} values, expected ${this.count} x ${this.sampleSize}`);
      }
    }
  }
  batch(indices: readonly number[], epoch: number): tf.Tensor {
    if (epoch !== this.viewEpoch) {
      this.viewOf = viewsForEpoch(this.count, this.features.views.length, this.seed, epoch);
      this.viewEpoch = epoch;
    }
    const viewOf = this.viewOf;
    const n = this.sampleSize;
    const out = new Float32Array(indices.length * n);
    indices.forEach((idx, b) => {
      if (!(idx >= 0 && idx < this.count)) throw new Error(`FeatureBatchSource: index ${idx} out of range [0, ${this.count})`);
      out.set(this.features.views[viewOf[idx]].subarray(idx * n, (idx + 1) * n), b * n);
    });
    return tf.tensor(out, [indices.length, ...this.sampleShape], 'float32');
  }
}
