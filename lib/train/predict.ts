/** Class probabilities for a whole split, from the cached activations of the session's current stage. */
import * as tf from '@tensorflow/tfjs';
import { cutModelAt } from '../model/cut';
import { HEAD_LAYERS } from '../model/surgery';
import { FeatureBatchSource } from './batches';
import type { TrainingSession } from './session';

/** Probabilities of every image of a split: `probs[i * numClasses + c]`. */
export interface SplitPredictions {
  probs: Float32Array;
  numClasses: number;
  labels: Int32Array;
  classes: string[];
  files: string[];
}

/**
 * Runs the classifier as it is now over a split. The frozen part is not recomputed: after head training the
 * head runs on the cached `head_pool` activations, after fine-tuning the suffix runs on the activations at the
 * fine-tuning boundary. Same numbers as `classifier.predict` on the pixels (up to float rounding).
 * No tensors stay allocated.
 */
export async function predictSplit(session: TrainingSession, split: 'train' | 'test' = 'test', batchSize = 64): Promise<SplitPredictions> {
  const set = split === 'train' ? session.train : session.test;
  if (!set) throw new Error(`predictSplit: the session has no ${split} images`);
  const cut = session.stage.kind === 'fine-tune' ? session.stage.boundary : HEAD_LAYERS.pool;
  const act = await session.activations(cut, split, 0);
  const source = new FeatureBatchSource({ views: [act.data], sampleShape: act.shape.slice(1), labels: set.labels });
  const { prefix, suffix } = cutModelAt(session.classifier, cut);
  prefix.dispose();
  const numClasses = session.numClasses;
  const probs = new Float32Array(set.count * numClasses);
  try {
    for (let s = 0; s < set.count; s += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, set.count - s) }, (_, i) => s + i);
      const p = tf.tidy(() => suffix.apply(source.batch(idx, 0), { training: false }) as tf.Tensor);
      probs.set(await p.data(), s * numClasses);
      p.dispose();
    }
  } finally {
    suffix.dispose();
  }
  return { probs, numClasses, labels: set.labels, classes: set.classes, files: set.files };
}
