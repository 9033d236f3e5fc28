/** Evaluating a training session's classifier, as it is now, on one of its splits. */
import { evaluatePredictions, type EvaluateOptions, type EvaluationReport } from '../evaluate/metrics';
import { predictSplit } from '../train/predict';
import type { TrainingSession } from '../train/session';
import { recordEvaluation } from './records';

export interface EvaluateSessionOptions extends EvaluateOptions {
  /** Which split. Default 'test'. */
  split?: 'train' | 'test';
  /** Test-time augmentation views averaged (lib/data/tta.ts). Default `DEFAULT_TTA` on the test split, 1 on the training split. */
  tta?: number;
}

/**
 * Metrics of the session's classifier on its test split (or train), from the cached activations of its current stage;
 * with `tta`, over averaged test-time views.
 * A test evaluation of the classifier as the last recorded phase left it is added to that run's record (./records.ts).
 */
export async function evaluateSession(session: TrainingSession, options: EvaluateSessionOptions = {}): Promise<EvaluationReport> {
  const split = options.split ?? 'test';
  const report = evaluatePredictions(await predictSplit(session, split, { tta: options.tta }), options);
  if (split === 'test') await recordEvaluation(session, report);
  return report;
}
