// Public API of lib/train (re-exported by lib/index.ts).
export type { TrainingPhase, EpochRecord, TrainingHistory, StopReason, BatchProgress, PixelInput, BaseBlocksSpec } from './types';
export { scheduledLearningRate, parseLrSchedule, type LrSchedule, type StepSchedule, type CosineSchedule, type ConstantSchedule } from './schedule';
export {
  createProgressCallbacks,
  combineCallbacks,
  formatDuration,
  formatEpochLine,
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
export { extractFeatures, shutdownExtractionWorkers, type FeatureInput, type ExtractOptions, type Features } from './extract';
export { TrainingSession, createTrainingSession, weightsFingerprint, type TrainingSessionOptions } from './session';
export {
  trainHead,
  fineTune,
  fineTuneBoundary,
  phaseRecords,
  HEAD_DEFAULTS,
  FINE_TUNE_DEFAULTS,
  type PhaseOptions,
  type FineTuneOptions,
  type PhaseResult,
} from './phases';
export { predictSplit, type SplitPredictions } from './predict';
export {
  runPipeline,
  resolvePipelineOptions,
  formatPipelineOptions,
  PIPELINE_DEFAULTS,
  type PipelineOptions,
  type ResolvedPipelineOptions,
  type PipelineResult,
  type PhaseSummary,
} from './pipeline';
export { defaultTrainWorkers, DEFAULT_TRAIN_PARTS } from './parallel';
