/** Small fixtures for the training tests: a tiny MobileNetV2 base and synthetic, learnable images. */
import * as tf from '@tensorflow/tfjs';
import { buildMobileNetV2 } from '../../lib/model/mobilenet_v2';
import { inferBlocks } from '../../lib/model/blocks';
import { buildClassifier } from '../../lib/model/surgery';
import type { LoadedBase } from '../../lib/model/types';
import type { PixelInput } from '../../lib/train/types';
import { createRng } from '../../lib/util/random';
import { cacheKey } from '../../lib/util/hash';

/** A random-weight MobileNetV2 (alpha 0.35) at `size` px, wrapped like lib/model's loaded bases. */
export function tinyBase(size = 32, seed = 1): LoadedBase {
  const model = buildMobileNetV2({ alpha: 0.35, inputSize: size, seed });
  const blocks = inferBlocks(model.layers.map((l) => ({ name: l.name, className: l.getClassName() })));
  for (const l of model.layers) l.trainable = false;
  return {
    spec: {
      id: `test-mnv2-0.35-${size}-${seed}`,
      label: 'test MobileNetV2',
      inputSize: size,
      pixelRange: [-1, 1],
      cutLayer: 'out_relu',
      provenance: 'random weights (test)',
      pretraining: 'nothing (random weights)',
      blocks,
      online: false,
    },
    model,
    source: 'memory',
    loadMs: 0,
  };
}

/** A tiny base and a classifier on it (3 classes). Dispose both. */
export function tinyClassifier(size = 32, seed = 1, dropout = 0.2): { base: LoadedBase; classifier: tf.LayersModel } {
  const base = tinyBase(size, seed);
  const classifier = buildClassifier(base, { numClasses: 3, dropout, seed });
  return { base, classifier };
}

/**
 * `count` images of `size` px in 3 classes: a white background with a coloured square whose position depends on
 * the class (plus noise), so that even a random base separates them a little.
 */
export function syntheticPixels(count: number, size = 32, seed = 0): PixelInput {
  const rng = createRng(seed);
  const pixels = new Uint8Array(count * size * size * 3).fill(255);
  const labels = new Int32Array(count);
  const files: string[] = [];
  const colours = [
    [200, 40, 40],
    [40, 160, 40],
    [40, 40, 200],
  ];
  for (let i = 0; i < count; i++) {
    const c = i % 3;
    labels[i] = c;
    files.push(`/synthetic/${['rock', 'paper', 'scissors'][c]}/${i}.png`);
    const side = Math.floor(size * 0.4);
    const x0 = Math.floor((c / 3) * (size - side) + rng.int(4));
    const y0 = Math.floor(rng.int(size - side));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 3;
        const inside = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
        for (let ch = 0; ch < 3; ch++) {
          const v = (inside ? colours[c][ch] : 255) + rng.int(40) - 20;
          pixels[o + ch] = Math.max(0, Math.min(255, v));
        }
      }
    }
  }
  return { size, count, pixels, labels, classes: ['rock', 'paper', 'scissors'], files, key: cacheKey('synthetic', count, size, seed) };
}

/** `weightValues` on every engine: webgpu reads device memory synchronously only where an async read brought it back. */
export async function readableWeightValues(model: tf.LayersModel): Promise<Float32Array[]> {
  await Promise.all(model.weights.map((w) => w.read().data()));
  return weightValues(model);
}

/** Copies of all weights of a model, sorted by weight name (`model.weights` order changes with freezing). */
export function weightValues(model: tf.LayersModel): Float32Array[] {
  return [...model.weights]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

/** max over tensors of ||a - b|| / max(||b||, tiny). */
export function maxRelativeError(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    let d = 0;
    let n = 0;
    for (let j = 0; j < x.length; j++) {
      d += (x[j] - b[i][j]) ** 2;
      n += b[i][j] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-12));
  });
  return worst;
}
