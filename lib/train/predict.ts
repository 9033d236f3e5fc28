/** Class probabilities for a whole split, from the cached activations of the session's current stage. */
import { cutModelAt } from '../model/cut';
import { HEAD_LAYERS } from '../model/surgery';
import { extractFeatures } from './extract';
import { checkTta, DEFAULT_TTA, meanProbabilities } from '../data/tta';
import { weightsFingerprint, type TrainingSession } from './session';

/** Probabilities of every image of a split: `probs[i * numClasses + c]`. */
export interface SplitPredictions {
  probs: Float32Array;
  numClasses: number;
  labels: Int32Array;
  classes: string[];
  files: string[];
}

export interface PredictSplitOptions {
  /** Images per unit of work (lib/train/extract.ts). Default 64. */
  batchSize?: number;
  /** Test-time augmentation views averaged (lib/data/tta.ts; test split only). Default `DEFAULT_TTA` on the test split, 1 on the training split. */
  tta?: number;
}

/**
 * Runs the classifier as it is now over a split. The frozen part is not recomputed: after head training the
 * head runs on the cached `head_pool` activations, after fine-tuning the suffix runs on the activations at the
 * fine-tuning boundary. Same numbers as `classifier.predict` on the pixels (up to float rounding: BN is folded).
 * With `tta` > 1 the probabilities are the mean over that many test-time views (their activations cached too). Each
 * view's probabilities are cached in the session's store too (memory and disk), keyed by the activations they came
 * from and the suffix's weights. No tensors stay allocated.
 */
export async function predictSplit(session: TrainingSession, split: 'train' | 'test' = 'test', options: PredictSplitOptions = {}): Promise<SplitPredictions> {
  const set = split === 'train' ? session.train : session.test;
  if (!set) throw new Error(`predictSplit: the session has no ${split} images`);
  const batchSize = options.batchSize ?? 64;
  const tta = checkTta(options.tta ?? (split === 'test' ? DEFAULT_TTA : 1));
  if (tta > 1 && split !== 'test') throw new Error('predictSplit: test-time augmentation (tta > 1) is for the test split');
  const cut = session.stage.kind === 'fine-tune' ? session.stage.boundary : HEAD_LAYERS.pool;
  const { prefix, suffix } = cutModelAt(session.classifier, cut);
  prefix.dispose();
  const numClasses = session.numClasses;
  const views: Float32Array[] = [];
  try {
    const weights = await weightsFingerprint(suffix);
    for (let view = 0; view < tta; view++) {
      const act = await session.activations(cut, split, view);
      // Kept like activations, keyed by their input and the suffix's weights: evaluating the same classifier again
      // (a re-run cell, the next notebook) reads them back.
      const parts = { outputs: cut, input: act.key, weights, extractor: 'folded' };
      const out = await session.store.get(`outputs:${split}:${view}`, parts, () =>
        // Not trained here: the suffix runs in its folded inference form, on every core like extraction.
        extractFeatures(suffix, { values: act.data, shape: act.shape }, { batchSize, workers: session.workers }),
      );
      views.push(out.data);
    }
  } finally {
    suffix.dispose();
  }
  // A copy: the store's arrays stay unchanged whatever the caller does with these.
  const probs = views.length === 1 ? Float32Array.from(views[0]) : meanProbabilities(views);
  return { probs, numClasses, labels: set.labels, classes: set.classes, files: set.files };
}
