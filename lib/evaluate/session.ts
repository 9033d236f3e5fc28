/** Evaluating a training session's classifier, and classifying new image files with it. */
import type { Classifier } from '../model/persist';
import { predictImage, type ImagePrediction } from '../model/predict';
import { CLASSIFIER_FORMAT_VERSION } from '../model/persist';
import type { TrainingSession } from '../train/session';
import { predictSplit } from '../train/predict';
import { evaluatePredictions, type EvaluateOptions, type EvaluationReport } from './metrics';

/** Evaluates the session's classifier, as it is now, on its test split (or train). */
export async function evaluateSession(session: TrainingSession, options: EvaluateOptions & { split?: 'train' | 'test' } = {}): Promise<EvaluationReport> {
  const preds = await predictSplit(session, options.split ?? 'test');
  return evaluatePredictions(preds, options);
}

/** The session's classifier in lib/model's `Classifier` shape (shares the model; do not dispose it separately). */
export function sessionClassifier(session: TrainingSession): Classifier {
  return {
    model: session.classifier,
    metadata: {
      classes: session.train.classes,
      inputSize: session.base.spec.inputSize,
      pixelRange: session.base.spec.pixelRange,
      base: session.base.spec.id,
      formatVersion: CLASSIFIER_FORMAT_VERSION,
      savedAt: '',
    },
  };
}

/** Classifies a new image file (PNG or JPEG, any size; resized to the input size) with the session's classifier. */
export async function predictFileWithSession(session: TrainingSession, file: string): Promise<ImagePrediction> {
  return predictImage(sessionClassifier(session), file);
}
