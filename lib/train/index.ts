// Public API of lib/train (re-exported by lib/index.ts).
export type { TrainingPhase, EpochRecord, TrainingHistory, StopReason, BatchProgress, PixelInput } from './types';
export { scheduledLearningRate, parseLrSchedule, formatLrSchedule, DEFAULT_LR_SCHEDULE, DEFAULT_SCHEDULE, type LrSchedule, type StepSchedule, type CosineSchedule, type ConstantSchedule } from './schedule';
export {
  createProgressCallbacks,
  combineCallbacks,
  formatDuration,
  formatEpochLine,
  PROGRESS_MODES,
  DEFAULT_PROGRESS,
  type TrainingCallbacks,
  type ProgressMode,
  type ProgressOptions,
} from './progress';
export { PixelBatchSource, FeatureBatchSource, viewsForEpoch, type BatchSource, type FeatureViews } from './batches';
export { crossEntropyLoss, checkLabelSmoothing, DEFAULT_LABEL_SMOOTHING } from './loss';
export { fitOnSource, evaluateOnSource, outputsFinite, PROBE_SAMPLES, type FitOptions, type FitResult, type SourceSubset } from './loop';
export { OPTIMIZERS, DEFAULT_OPTIMIZER, checkOptimizerName, type OptimizerName } from './optimizer';
export { EARLY_STOPPING_DEFAULTS, type EarlyStoppingOptions } from './early_stopping';
export { StepRunner, type StepRunnerOptions } from './step';
export { FeatureStore, FEATURE_CACHE_VERSION, type FeatureArray, type FeatureStoreOptions, type FeatureStoreStats } from './feature_store';
export { extractFeatures, shutdownExtractionWorkers, type FeatureInput, type ActivationInput, type ExtractOptions, type Features } from './extract';
export { TrainingSession, createTrainingSession, weightsFingerprint, SESSION_DEFAULTS, type TrainingSessionOptions, type SessionStage } from './session';
export {
  trainHead,
  fineTune,
  fineTuneBoundary,
  fineTuneLearningRate,
  PHASE_DEFAULTS,
  HEAD_DEFAULTS,
  FINE_TUNE_DEFAULTS,
  type PhaseOptions,
  type FineTuneOptions,
  type PhaseResult,
  type UsedPhaseOptions,
} from './phases';
export { predictSplit, type SplitPredictions } from './predict';
export { defaultTrainWorkers, DEFAULT_TRAIN_PARTS } from './parallel';
export {
  findLearningRate,
  lrRangeTest,
  suggestLearningRate,
  lrAtStep,
  LR_FINDER_DEFAULTS,
  LR_SUGGEST_METHODS,
  type LrFinderOptions,
  type LrFinderResult,
  type LrFinderPoint,
  type LrFinderStop,
  type LrRangeOptions,
  type LrRangeCurve,
  type LrSuggestion,
  type LrSuggestMethod,
} from './lr_finder';
