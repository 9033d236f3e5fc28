/** Classifying one image with a loaded classifier. */
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../data/decode';
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

/**
 * Classifies already decoded RGB bytes at the classifier's input size. No tensors are left behind. Async because
 * the webgpu engine reads device memory back only asynchronously.
 */
export async function predictPixels(classifier: Classifier, rgb: Uint8Array): Promise<ImagePrediction> {
  const { classes, inputSize, pixelRange } = classifier.metadata;
  const p = tf.tidy(() => classifier.model.predict(rgbToInputTensor(rgb, inputSize, pixelRange)) as tf.Tensor);
  let probs: Float32Array;
  try {
    probs = (await p.data()) as Float32Array;
  } finally {
    p.dispose();
  }
  let index = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[index]) index = i;
  const probabilities: Record<string, number> = {};
  classes.forEach((c, i) => (probabilities[c] = probs[i]));
  return { label: classes[index], index, probabilities };
}

/** Decodes an image file or its bytes (PNG/JPEG), resizes it to the input size, and classifies it. */
export async function predictImage(classifier: Classifier, image: string | Buffer): Promise<ImagePrediction> {
  return predictPixels(classifier, await decodeImage(image, classifier.metadata.inputSize));
}
