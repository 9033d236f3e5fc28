/** Classifying one image with a loaded classifier. */
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../data/decode';
import { checkTta, DEFAULT_TTA, testTimeView } from '../data/tta';
import type { Classifier } from './persist';
import type { PixelRange } from './types';

export interface ImagePrediction {
  /** The most probable class. */
  label: string;
  /** Its index in `metadata.classes`. */
  index: number;
  /** Probability of every class. */
  probabilities: Record<string, number>;
}

/**
 * RGB bytes (`size*size*3`, row-major) -> a [1, size, size, 3] float tensor scaled to `pixelRange`.
 * The caller owns the tensor.
 */
export function rgbToInputTensor(rgb: Uint8Array, size: number, pixelRange: PixelRange): tf.Tensor4D {
  if (rgb.length !== size * size * 3) {
    throw new Error(`input size mismatch: expected ${size}x${size} RGB (${size * size * 3} bytes), got ${rgb.length} bytes`);
  }
  const [lo, hi] = pixelRange;
  return tf.tidy(() => tf.tensor4d(rgb, [1, size, size, 3], 'int32').toFloat().mul((hi - lo) / 255).add(lo) as tf.Tensor4D);
}

export interface PredictOptions {
  /** Test-time augmentation views averaged (lib/data/tta.ts). Default `DEFAULT_TTA`. */
  tta?: number;
}

/**
 * Classifies already decoded RGB bytes at the classifier's input size (with `tta`, the mean over that many
 * test-time views, run as one batch). No tensors are left behind. A model whose outputs are not finite
 * probabilities (diverged weights) throws naming its folder, never returns a label. Async because the webgpu
 * engine reads device memory back only asynchronously.
 */
export async function predictPixels(classifier: Classifier, rgb: Uint8Array, image = 'the image', options: PredictOptions = {}): Promise<ImagePrediction> {
  const { classes, inputSize, pixelRange } = classifier.metadata;
  const tta = checkTta(options.tta ?? DEFAULT_TTA);
  const one = { size: inputSize, count: 1, pixels: rgb, key: 'image' };
  const views = Array.from({ length: tta }, (_, v) => testTimeView(one, v).pixels);
  const p = tf.tidy(() => {
    const x = tf.concat(views.map((v) => rgbToInputTensor(v, inputSize, pixelRange)));
    return (classifier.model.predict(x) as tf.Tensor).mean(0);
  });
  let probs: Float32Array;
  try {
    probs = (await p.data()) as Float32Array;
  } finally {
    p.dispose();
  }
  if (!probs.every(Number.isFinite)) {
    const model = classifier.dir ? `the model in ${classifier.dir}` : `model '${classifier.model.name}'`;
    throw new Error(
      `${model} gives non-finite outputs [${Array.from(probs).join(', ')}] for ${image}: its weights are broken ` +
        '(did training diverge? a too high learning rate does that); train it again',
    );
  }
  let index = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[index]) index = i;
  const probabilities: Record<string, number> = {};
  classes.forEach((c, i) => (probabilities[c] = probs[i]));
  return { label: classes[index], index, probabilities };
}

/**
 * Decodes an image file or its bytes (PNG/JPEG), resizes it to the input size, and classifies it. A file that is
 * not a sound image throws naming it and saying what is wrong (as the data validator does).
 */
export async function predictImage(classifier: Classifier, image: string | Buffer, options: PredictOptions = {}): Promise<ImagePrediction> {
  const what = typeof image === 'string' ? image : `an image of ${image.length} bytes`;
  return predictPixels(classifier, await decodeImage(image, classifier.metadata.inputSize), what, options);
}
