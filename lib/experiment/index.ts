// Public API of lib/experiment (re-exported by lib/index.ts): the parameters, the one assembly, the run folders.
export * from './parameters';
export { Experiment, prepareExperiment, prepareData, prepareBase, releaseExperiment, restorePhase, headPhaseOptions, fineTunePhaseOptions, type PrepareOptions } from './prepare';
export { evaluateSession, type EvaluateSessionOptions } from './evaluate';
export {
  RUN_FORMAT,
  experimentDir,
  experimentKey,
  phaseClassifierDir,
  phaseResults,
  savePhase,
  readPhaseRecord,
  loadPhase,
  type ExperimentIdentity,
  type SavedPhase,
  type PhaseResults,
  type PhaseRecord,
  type SavableExperiment,
} from './runs';
export { phaseParameters } from './phase-options';
export {
  RECORD_FORMAT,
  recordsDir,
  listRuns,
  recentRuns,
  recordOf,
  readRunRecord,
  readRunRecords,
  effectiveParameters,
  differingParameters,
  type RunRecord,
  type RunMetrics,
  type RunQuery,
} from './records';
export { reuse, releaseReused, reusedNames } from './reuse';
export { runPipeline, RUN_DEFAULTS, type RunOptions, type PipelineOptions, type PipelineResult, type PhaseSummary } from './pipeline';
