/**
 * Fixtures for the tests of the commands that use a trained classifier: a tiny classifier saved as
 * `saveClassifier` writes it, and labelled images. Made in seconds, no training.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadBase } from '../../lib/model/bases';
import { saveClassifier } from '../../lib/model/persist';
import { buildClassifier, HEAD_LAYERS } from '../../lib/model/surgery';
import type { PixelRange } from '../../lib/model/types';
import { encodePng } from '../../lib/util/png';
import { buildTinyBase, tempDir, writeModelDir } from '../model/helpers';

export const CLASSES = ['rock', 'paper', 'scissors'];

/**
 * Saves a tiny classifier (the 32 px MobileNetV2-shaped test base + a head) to `dir`. The output layer's kernel is
 * scaled up so that the probabilities differ clearly from image to image (a check at 1e-4 then means something).
 */
export async function saveTinyClassifier(dir: string, options: { pixelRange?: PixelRange; seed?: number } = {}): Promise<void> {
  const work = tempDir('tiny-base');
  try {
    const tiny = buildTinyBase({ seed: options.seed ?? 1 });
    await writeModelDir(tiny, work, 1);
    tiny.dispose();
    const base = await loadBase({ base: path.join(work, 'model.json'), quiet: true });
    const model = buildClassifier(base, { numClasses: CLASSES.length, hiddenUnits: 8, dropout: 0, seed: options.seed ?? 1 });
    const out = model.getLayer(HEAD_LAYERS.output);
    const [kernel, bias] = out.getWeights();
    const scaled = tf.tidy(() => kernel.mul(8));
    out.setWeights([scaled, bias]);
    scaled.dispose();
    await saveClassifier(model, dir, { classes: CLASSES, inputSize: 32, pixelRange: options.pixelRange ?? [-1, 1], base: base.spec.id });
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

/** Writes `<root>/<class>/<n>.png` for each class, `perClass` images each (varied sizes). Returns the files. */
export function writeLabelledImages(root: string, perClass: number, classes = CLASSES): string[] {
  const files: string[] = [];
  classes.forEach((cls, c) => {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (let n = 0; n < perClass; n++) {
      const file = path.join(root, cls, `${n}.png`);
      const w = 40 + 8 * n;
      fs.writeFileSync(file, encodePng(picture(w, 36, c * 10 + n), w, 36));
      files.push(file);
    }
  });
  return files;
}
