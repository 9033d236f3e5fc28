// Public API of lib/train (re-exported by lib/index.ts).
export type { TrainingPhase, EpochRecord, TrainingHistory, StopReason, BatchProgress, PixelInput } from './types';
export { scheduledLearningRate, parseLrSchedule, formatLrSchedule, DEFAULT_LR_SCHEDULE, CONSTANT_SCHEDULE, type LrSchedule, type StepSchedule, type CosineSchedule, type ConstantSchedule } from './schedule';
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
export { crossEntropyLoss } from './loss';
export {
  fitOnSource,
  evaluateOnSource,
  trainableVariables,
  type FitOptions,
  type FitResult,
  type EarlyStoppingOptions,
  type SourceSubset,
} from './loop';
export { OPTIMIZERS, DEFAULT_OPTIMIZER, makeOptimizer, type OptimizerName } from './optimizer';
export { FeatureStore, FEATURE_CACHE_VERSION, type FeatureArray, type FeatureStoreOptions, type FeatureStoreStats } from './feature_store';
export { extractFeatures, shutdownExtractionWorkers, type FeatureInput, type ExtractOptions, type Features } from './extract';
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
export { defaultTrainWorkers, ParallelSteps } from './parallel';
