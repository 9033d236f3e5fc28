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
export { misclassifiedImages, type MisclassifiedImage, type EvaluatedImages } from './mistakes';
export {
  gradCam,
  gradCamBatch,
  pixelSetImages,
  GRADCAM_BATCH_SIZE,
  type GradCamImage,
  type GradCamOptions,
  type GradCamBatchOptions,
  type GradCamResult,
} from './gradcam';
export { evaluateClassifierOnFolder, evaluationFolder, type EvaluateFolderOptions, type FolderEvaluation } from './folder';
