/**
 * Fixtures for the tests of the commands that use a trained classifier: a tiny classifier saved as
 * `saveClassifier` writes it (in seconds, no training), and a test picture with a smooth alpha channel.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadBase } from '../../lib/model/bases';
import { saveClassifier } from '../../lib/model/persist';
import { buildClassifier, HEAD_LAYERS } from '../../lib/model/surgery';
import type { PixelRange } from '../../lib/model/types';
import type { CliIo } from '../../lib/cli/model-cli';
import { buildTinyBase, tempDir, writeModelDir } from '../model/helpers';

export const CLASSES = ['rock', 'paper', 'scissors'];

/**
 * Saves a tiny classifier (the 32 px MobileNetV2-shaped test base + a head) to `dir`. A random head on random
 * features gives nearly the same probabilities for every image, so the output layer is set to see its inputs
 * standardised over a few test pictures: the probabilities then differ clearly from image to image, and a check
 * at 1e-4 means something.
 */
export async function saveTinyClassifier(dir: string, options: { pixelRange?: PixelRange; seed?: number } = {}): Promise<void> {
  const work = tempDir('tiny-base');
  try {
    const tiny = buildTinyBase({ seed: options.seed ?? 1 });
    await writeModelDir(tiny, work, 1);
    tiny.dispose();
    const base = await loadBase({ base: path.join(work, 'model.json'), quiet: true });
    const model = buildClassifier(base, { numClasses: CLASSES.length, hiddenUnits: 8, dropout: 0, seed: options.seed ?? 1 });
    const pixelRange = options.pixelRange ?? [-1, 1];
    tf.tidy(() => {
      const [lo, hi] = pixelRange;
      const pics = Array.from({ length: 16 }, (_, s) => tf.tensor3d(picture(32, 32, s), [32, 32, 3], 'int32'));
      const x = tf.stack(pics).toFloat().mul((hi - lo) / 255).add(lo);
      const hidden = tf.model({ inputs: model.inputs, outputs: model.getLayer(HEAD_LAYERS.hidden).output as tf.SymbolicTensor });
      const { mean, variance } = tf.moments(hidden.predict(x) as tf.Tensor2D, 0);
      const std = variance.sqrt().add(1e-3);
      const out = model.getLayer(HEAD_LAYERS.output);
      const [kernel] = out.getWeights();
      // logits = 6 W^T ((h - mean) / std)
      const w = kernel.div(std.reshape([-1, 1])).mul(6);
      out.setWeights([w, tf.neg(tf.matMul(mean.reshape([1, -1]), w)).reshape([-1])]);
    });
    await saveClassifier(model, dir, { classes: CLASSES, inputSize: 32, pixelRange, base: base.spec.id });
    model.dispose();
    base.model.dispose();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A deterministic RGB(A) test picture of `w`x`h`: gradients and a disc whose place depends on `seed`. */
export function picture(w: number, h: number, seed: number, channels: 3 | 4 = 3): Uint8Array {
  const px = new Uint8Array(w * h * channels);
  const cx = ((seed * 37) % 100) / 100;
  const cy = ((seed * 61) % 100) / 100;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * channels;
      const inDisc = (x / w - cx) ** 2 + (y / h - cy) ** 2 < 0.06;
      px[i] = inDisc ? 220 : (x * 255) / w;
      px[i + 1] = inDisc ? 60 + seed * 20 : (y * 255) / h;
      px[i + 2] = ((x + y) * 3 + seed * 50) % 256;
      if (channels === 4) px[i + 3] = inDisc ? 255 : Math.round((x * 255) / (w - 1));
    }
  }
  return px;
}

/** Runs a command's main function with its output captured. */
export async function capture(main: (argv: string[], io: CliIo) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
