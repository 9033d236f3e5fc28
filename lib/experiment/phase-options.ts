/** The two phases' options from the experiment's parameters, and back: which parameters a phase's options stand for. */
import { EARLY_STOPPING_DEFAULTS } from '../train/early_stopping';
import { type FineTuneOptions, type PhaseOptions, type UsedPhaseOptions } from '../train/phases';
import { formatLrSchedule, parseLrSchedule } from '../train/schedule';
import type { TrainingPhase } from '../train/types';
import type { ExperimentParameters } from './parameters';

/** The head phase's options from the parameters. */
export function headPhaseOptions(p: ExperimentParameters): PhaseOptions {
  return {
    epochs: p.headEpochs,
    learningRate: p.headLearningRate,
    optimizer: p.headOptimizer,
    ...trainingOptions(p),
  };
}

/** The fine-tuning phase's options from the parameters (its learning rate, when unset, derives from the head's). */
export function fineTunePhaseOptions(p: ExperimentParameters): FineTuneOptions {
  return {
    from: p.fineTuneFrom,
    epochs: p.fineTuneEpochs,
    learningRate: p.fineTuneLearningRate,
    optimizer: p.fineTuneOptimizer,
    ...trainingOptions(p),
  };
}

function trainingOptions(p: ExperimentParameters): PhaseOptions {
  return {
    batchSize: p.batchSize,
    labelSmoothing: p.labelSmoothing,
    earlyStopping: p.patience > 0 ? { patience: p.patience } : false,
    schedule: parseLrSchedule(p.lrSchedule),
    trainWorkers: p.trainWorkers,
  };
}

/**
 * The parameters that the options a phase ran with stand for (the inverse of `headPhaseOptions` and
 * `fineTunePhaseOptions`): a learning rate overridden in a notebook cell shows as the phase's learning-rate parameter.
 */
export function phaseParameters(phase: TrainingPhase, used: UsedPhaseOptions): Partial<ExperimentParameters> {
  const training: Partial<ExperimentParameters> = {
    batchSize: used.batchSize,
    labelSmoothing: used.labelSmoothing,
    patience: used.earlyStopping === false ? 0 : (used.earlyStopping.patience ?? EARLY_STOPPING_DEFAULTS.patience),
    lrSchedule: formatLrSchedule(used.schedule),
    trainWorkers: used.trainWorkers,
  };
  if (phase === 'head') return { headEpochs: used.epochs, headLearningRate: used.learningRate, headOptimizer: used.optimizer, ...training };
  return { fineTuneFrom: used.from, fineTuneEpochs: used.epochs, fineTuneLearningRate: used.learningRate, fineTuneOptimizer: used.optimizer, ...training };
}
