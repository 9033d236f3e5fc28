// Public API of lib/evaluate (re-exported by lib/index.ts).
export {
  evaluatePredictions,
  formatEvaluation,
  formatConfusion,
  type PredictionSet,
  type ClassMetrics,
  type MisclassifiedExample,
  type EvaluationReport,
  type EvaluateOptions,
} from './metrics';
export { evaluateSession, sessionClassifier, predictFileWithSession } from './session';
export { misclassifiedGalleryItems } from './gallery';
export { evaluateClassifierOnFolder, evaluationFolder, type EvaluateFolderOptions, type FolderEvaluation } from './folder';
