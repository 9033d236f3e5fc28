/** Evaluating a training session's classifier, as it is now, on one of its splits. */
import { evaluatePredictions, type EvaluateOptions, type EvaluationReport } from '../evaluate/metrics';
import { predictSplit } from '../train/predict';
import type { TrainingSession } from '../train/session';

export interface EvaluateSessionOptions extends EvaluateOptions {
  /** Which split. Default 'test'. */
  split?: 'train' | 'test';
  /** Test-time augmentation views averaged (lib/data/tta.ts). Default `DEFAULT_TTA` (1: none). */
  tta?: number;
}

/** Metrics of the session's classifier on its test split (or train), from the cached activations of its current stage; with `tta`, over averaged test-time views. */
export async function evaluateSession(session: TrainingSession, options: EvaluateSessionOptions = {}): Promise<EvaluationReport> {
  const preds = await predictSplit(session, options.split ?? 'test', { tta: options.tta });
  return evaluatePredictions(preds, options);
}
