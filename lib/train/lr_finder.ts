/**
 * The learning-rate range test (L. Smith, "Cyclical Learning Rates for Training Neural Networks", 2017; fastai's
 * `lr_find`): train for a few hundred steps while the rate grows exponentially from `start` to `end`, record the
 * loss of every step, and read a good rate off the curve. The loss stays flat while the rate is too small to
 * matter, falls once it is large enough, and blows up once it is too large; a good rate lies on the falling part,
 * well before the blow-up.
 *
 * Steps are the training loop's own (./step.ts for 1 or N parts, ./guard.ts's guarded apply), on the session's
 * cached activations, so the head's test takes seconds. Nothing is kept: the weights, which layers train, and the
 * session's history and stage are as before; the optimizer is a fresh one, disposed at the end (the session
 * holds no optimizer state between phases, so there is none to put back).
 *
 * The suggestion, by default, is a tenth of the rate where the smoothed loss was lowest (fastai's `minimum`).
 * The steepest descent (fastai's `steep`) is computed too. The minimum / 10 is the default because it is the
 * more robust reading: the minimum of a smoothed curve is one clear point that noise moves by a few steps,
 * while the steepest slope is a derivative of noisy losses that can jump by decades, and on a curve without a
 * clear descent (fine-tuning from a trained head, whose loss starts low) it has no meaning at all, while a
 * tenth of the last rate before the blow-up still does.
 */
import type * as tf from '@tensorflow/tfjs';
import { cutModelAt } from '../model/cut';
import { trainableVariables } from '../model/layers';
import { freezeBase, HEAD_LAYERS, unfreezeFrom } from '../model/surgery';
import { restoreTrainability, saveTrainability } from '../model/trainability';
import { createRng, derivedSeed } from '../util/random';
import { FeatureBatchSource } from './batches';
import { guardedApply } from './guard';
import type { SourceSubset } from './loop';
import { checkLabelSmoothing, DEFAULT_LABEL_SMOOTHING } from './loss';
import { checkOptimizerName, DEFAULT_OPTIMIZER, makeOptimizer, setLearningRate, type OptimizerName } from './optimizer';
import { fineTuneBoundary, PHASE_DEFAULTS, type FineTuneOptions } from './phases';
import type { TrainingSession } from './session';
import { WeightSnapshot } from './snapshot';
import { resolveParts, StepRunner } from './step';
import type { TrainingPhase } from './types';

/** How the suggestion is read off the smoothed curve (see the module comment). */
export const LR_SUGGEST_METHODS = ['minimum', 'steepest'] as const;
export type LrSuggestMethod = (typeof LR_SUGGEST_METHODS)[number];

/**
 * The range test's defaults: fastai's range, smoothing and divergence factor; 200 steps (fastai: 100) so the
 * exponential schedule takes 25 steps per decade; the suggestion by the minimum / 10.
 */
export const LR_FINDER_DEFAULTS = {
  start: 1e-7,
  end: 10,
  steps: 200,
  /** Weight of the past in the exponential moving average of the loss (debiased, as fastai's). */
  smoothing: 0.98,
  /** The test stops when the smoothed loss exceeds this multiple of its minimum. */
  divergeFactor: 4,
  suggest: 'minimum' as LrSuggestMethod,
} as const;

/** Options of the range test on a model (`lrRangeTest`). */
export interface LrRangeOptions {
  /** First and last learning rate. Defaults `LR_FINDER_DEFAULTS`. */
  start?: number;
  end?: number;
  /** Steps (batches) from `start` to `end`. Default `LR_FINDER_DEFAULTS`. */
  steps?: number;
  /** Samples per step. Default `PHASE_DEFAULTS` (the phases' batch: the suggestion is for that batch size). */
  batchSize?: number;
  /** Default `DEFAULT_OPTIMIZER`. */
  optimizer?: OptimizerName;
  /** Seeds the batch order and the dropout masks. Default 0. */
  seed?: number;
  /** Label smoothing of the loss, in [0, 1). Default `DEFAULT_LABEL_SMOOTHING`. */
  labelSmoothing?: number;
  /** Exponential-moving-average weight in [0, 1). Default `LR_FINDER_DEFAULTS`. */
  smoothing?: number;
  /** Stop when the smoothed loss exceeds this multiple (> 1) of its minimum. Default `LR_FINDER_DEFAULTS`. */
  divergeFactor?: number;
  /** Threads per step (./step.ts). Default `defaultTrainWorkers(model)`. */
  trainWorkers?: number;
  /** Called after every step. */
  onStep?: (point: LrFinderPoint, steps: number) => void;
}

/** One step of the test. */
export interface LrFinderPoint {
  /** 1-based. */
  step: number;
  lr: number;
  /** The step's batch loss (training mode: dropout on). */
  loss: number;
  /** Debiased exponential moving average of `loss` up to this step. */
  smoothedLoss: number;
}

/** Why the test ended: all steps ran, the smoothed loss passed `divergeFactor` times its minimum, or a step was not finite. */
export type LrFinderStop = 'completed' | 'diverged' | 'non-finite';

export interface LrRangeCurve {
  points: LrFinderPoint[];
  stopReason: LrFinderStop;
  /** For people, when the test stopped early. */
  message?: string;
  /** The options the test ran with, defaults filled in. */
  settings: Required<Omit<LrRangeOptions, 'onStep' | 'trainWorkers'>> & { parts: number };
  /** Wall-clock seconds of the steps. */
  seconds: number;
}

/** The learning rate of step `i` (0-based) of `steps` from `start` to `end`: exponential, both ends included. */
export function lrAtStep(i: number, steps: number, start: number, end: number): number {
  return steps <= 1 ? start : start * Math.pow(end / start, i / (steps - 1));
}

const refuse = (param: string, expected: string, got: unknown): never => {
  throw new Error(`findLearningRate: ${param}: expected ${expected}, got ${String(got)}`);
};

function resolveRange(options: LrRangeOptions): LrRangeCurve['settings'] {
  const s = {
    start: options.start ?? LR_FINDER_DEFAULTS.start,
    end: options.end ?? LR_FINDER_DEFAULTS.end,
    steps: options.steps ?? LR_FINDER_DEFAULTS.steps,
    batchSize: options.batchSize ?? PHASE_DEFAULTS.batchSize,
    optimizer: options.optimizer ?? DEFAULT_OPTIMIZER,
    seed: options.seed ?? 0,
    labelSmoothing: options.labelSmoothing ?? DEFAULT_LABEL_SMOOTHING,
    smoothing: options.smoothing ?? LR_FINDER_DEFAULTS.smoothing,
    divergeFactor: options.divergeFactor ?? LR_FINDER_DEFAULTS.divergeFactor,
    parts: 1,
  };
  if (!(s.start > 0 && Number.isFinite(s.start))) refuse('start', 'a positive number', s.start);
  if (!(s.end > s.start && Number.isFinite(s.end))) refuse('end', `a finite number > start (${s.start})`, s.end);
  if (!(Number.isInteger(s.steps) && s.steps >= 10)) refuse('steps', 'an integer >= 10', s.steps);
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1)) refuse('batchSize', 'an integer >= 1', s.batchSize);
  checkOptimizerName(s.optimizer, 'findLearningRate: optimizer');
  if (!Number.isFinite(s.seed)) refuse('seed', 'a finite number', s.seed);
  checkLabelSmoothing(s.labelSmoothing, 'findLearningRate: labelSmoothing');
  if (!(s.smoothing >= 0 && s.smoothing < 1)) refuse('smoothing', 'a number in [0, 1)', s.smoothing);
  if (!(s.divergeFactor > 1)) refuse('divergeFactor', 'a number > 1', s.divergeFactor);
  return s;
}

/**
 * The range test on `model` (softmax outputs) over `train`: one step per batch at rates rising from `start` to
 * `end`, stopping early when the smoothed loss diverges or a step is not finite. The model is trained in place and
 * its trainable variables are put back at the end (bit-identical); layers that must stay in inference mode must
 * be set so already (as for `fitOnSource`). Only full batches are used (all samples when fewer than a batch), so
 * every loss averages the same number of samples; the order is reshuffled, seeded, after each pass.
 * Tensors: everything created here is disposed.
 */
export async function lrRangeTest(model: tf.LayersModel, train: SourceSubset, options: LrRangeOptions = {}): Promise<LrRangeCurve> {
  const s = resolveRange(options);
  const indices = train.indices ? [...train.indices] : Array.from({ length: train.source.count }, (_, i) => i);
  if (!indices.length) throw new Error('findLearningRate: no training samples');
  const vars = trainableVariables(model);
  if (!vars.length) throw new Error('findLearningRate: the model has no trainable weights (is everything frozen?)');
  const outShape = model.outputs[0].shape;
  const numClasses = outShape[outShape.length - 1] as number;
  const batch = Math.min(s.batchSize, indices.length);
  const perPass = Math.floor(indices.length / batch);
  const settings = { ...s, parts: resolveParts(model, options.trainWorkers) };

  const started = Date.now();
  const points: LrFinderPoint[] = [];
  let stopReason: LrFinderStop = 'completed';
  let message: string | undefined;
  const initial = new WeightSnapshot(vars);
  const optimizer = makeOptimizer(s.optimizer, s.start);
  let runner: StepRunner | undefined;
  try {
    initial.take(0);
    runner = await StepRunner.open(model, vars, { parts: settings.parts, numClasses, seed: s.seed, labelSmoothing: s.labelSmoothing });
    let order: number[] = [];
    let average = 0;
    let best = Infinity;
    for (let i = 0; i < s.steps; i++) {
      const pass = Math.floor(i / perPass) + 1;
      const b = i % perPass;
      if (b === 0) order = createRng(derivedSeed(s.seed, `lr-finder-order:${pass}`)).shuffled(indices);
      const lr = lrAtStep(i, s.steps, s.start, s.end);
      setLearningRate(optimizer, lr);
      const step = await guardedApply(optimizer, vars, await runner.step(train.source, order.slice(b * batch, (b + 1) * batch), pass, b));
      if (step.outcome === 'failed') {
        stopReason = 'non-finite';
        message = `stopped at step ${i + 1} (learning rate ${lr.toExponential(2)}): ${step.failure.what}`;
        break;
      }
      average = s.smoothing * average + (1 - s.smoothing) * step.loss;
      const point = { step: i + 1, lr, loss: step.loss, smoothedLoss: average / (1 - Math.pow(s.smoothing, i + 1)) };
      points.push(point);
      options.onStep?.(point, s.steps);
      best = Math.min(best, point.smoothedLoss);
      if (point.smoothedLoss > s.divergeFactor * best) {
        stopReason = 'diverged';
        message = `stopped at step ${i + 1} (learning rate ${lr.toExponential(2)}): the smoothed loss ${point.smoothedLoss.toFixed(3)} passed ${s.divergeFactor} x its minimum ${best.toFixed(3)}`;
        break;
      }
      // Let timers and signal handlers run between steps (a notebook stays responsive).
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    if (initial.epoch !== undefined) initial.restore();
    initial.dispose();
    optimizer.dispose();
    await runner?.close();
  }
  return { points, stopReason, message, settings, seconds: (Date.now() - started) / 1000 };
}

/** A suggested learning rate and how it was read off the curve. */
export interface LrSuggestion {
  learningRate: number;
  method: LrSuggestMethod;
  /** How it was chosen, for people. */
  reason: string;
  /** Where the smoothed loss was lowest (within the points considered). */
  minimum: { lr: number; smoothedLoss: number };
  /** Where the smoothed loss fell fastest per unit of log learning rate; absent with fewer than 2 points. */
  steepest?: { lr: number; slope: number };
  /** Set when the curve gives no clear answer (the loss hardly fell, blew up at once, or still fell at the end). */
  warning?: string;
}

/**
 * Reads a learning rate off a range test's points, as fastai does: the first tenth (the average still settling)
 * and the last five points (the blow-up) are left out when enough remain; `minimum` gives a tenth of the rate at
 * the lowest smoothed loss, `steepest` the rate where the smoothed loss falls fastest. The result lies within the
 * tested rates. Pure.
 */
export function suggestLearningRate(points: readonly LrFinderPoint[], method: LrSuggestMethod = LR_FINDER_DEFAULTS.suggest): LrSuggestion {
  if (!(LR_SUGGEST_METHODS as readonly string[]).includes(method)) refuse('suggest', LR_SUGGEST_METHODS.join(' or '), method);
  if (!points.length) throw new Error('suggestLearningRate: no points (the test stopped before its first step)');
  const n = points.length;
  const skipStart = Math.floor(n / 10);
  const used = n - skipStart - 5 >= 3 ? points.slice(skipStart, n - 5) : [...points];
  const low = points[0].lr;
  const high = points[n - 1].lr;
  const within = (lr: number) => Math.min(high, Math.max(low, lr));

  const min = used.reduce((a, p) => (p.smoothedLoss < a.smoothedLoss ? p : a), used[0]);
  const minimum = { lr: min.lr, smoothedLoss: min.smoothedLoss };
  let steepest: LrSuggestion['steepest'];
  for (let i = 0; i + 1 < used.length; i++) {
    const slope = (used[i + 1].smoothedLoss - used[i].smoothedLoss) / (Math.log(used[i + 1].lr) - Math.log(used[i].lr));
    if (!steepest || slope < steepest.slope) steepest = { lr: used[i].lr, slope };
  }
  const first = used[0].smoothedLoss;
  const fell = (first - min.smoothedLoss) / first;
  const minAt = used.indexOf(min);
  const warning =
    n < 20
      ? `the test stopped after ${n} steps: too few to read; start lower`
      : fell < 0.05
        ? `the smoothed loss fell only ${(fell * 100).toFixed(1)} % over the tested rates: no clear descent to read`
        : minAt >= used.length - Math.max(2, Math.floor(used.length / 20))
          ? 'the smoothed loss was still falling at the highest rate tested: raise `end`'
          : undefined;

  const fmt = (x: number) => x.toExponential(1);
  if (method === 'steepest' && steepest) {
    return { learningRate: within(steepest.lr), method, reason: `the steepest descent of the smoothed loss, at ${fmt(steepest.lr)}`, minimum, steepest, warning };
  }
  const lr = within(min.lr / 10);
  const reason =
    `a tenth of ${fmt(min.lr)}, where the smoothed loss was lowest (${min.smoothedLoss.toFixed(3)})` +
    (method === 'steepest' ? ' (too few points for the steepest descent)' : '') +
    (lr !== min.lr / 10 ? `, raised to the lowest rate tested` : '');
  return { learningRate: lr, method: 'minimum', reason, minimum, steepest, warning };
}

/** What `findLearningRate` takes: the range test's options, the phase, and for fine-tuning the first unfrozen block. */
export interface LrFinderOptions extends Omit<LrRangeOptions, 'seed'> {
  phase: TrainingPhase;
  /** Fine-tuning only: the first block to unfreeze, as `fineTune` takes it. Default `FINE_TUNE_DEFAULTS.from`. */
  from?: FineTuneOptions['from'];
  /** Default: derived from the session's seed and the phase. */
  seed?: number;
  /** How the suggestion is read off the curve. Default `LR_FINDER_DEFAULTS`. */
  suggest?: LrSuggestMethod;
}

export interface LrFinderResult extends LrRangeCurve {
  phase: TrainingPhase;
  /** The layer whose cached activations the steps ran on. */
  cut: string;
  /** Fine-tuning only: the first unfrozen block. */
  fromBlock?: string;
  suggestion: LrSuggestion;
  /** Seconds spent getting the activations (0 when cached). */
  featureSeconds: number;
}

const FINDER_KEYS: readonly string[] = ['phase', 'from', 'start', 'end', 'steps', 'batchSize', 'optimizer', 'seed', 'labelSmoothing', 'smoothing', 'divergeFactor', 'trainWorkers', 'onStep', 'suggest'];
/** Options of a phase that mean nothing to the test: accepted, so `{ ...headPhaseOptions(P), phase: 'head' }` works, and ignored. */
const PHASE_ONLY_KEYS: readonly string[] = ['epochs', 'learningRate', 'earlyStopping', 'schedule', 'callbacks', 'path'];

/**
 * The range test for a phase of `session`, on its cached activations: `'head'` from the weights head training
 * starts from (the base frozen, at `head_pool`), `'fine-tune'` from the trained head with the blocks from `from`
 * unfrozen (at the block boundary), as `trainHead` and `fineTune` start. Returns the curve and a suggested rate
 * (`suggestLearningRate`). Afterwards the session is exactly as before: weights bit-identical, trainable flags,
 * history, stage and head learning rate unchanged; the activations it computed stay cached for the phases.
 * Throws naming the option for a bad one, and for `'fine-tune'` when the head is not trained.
 */
export async function findLearningRate(session: TrainingSession, options: LrFinderOptions): Promise<LrFinderResult> {
  for (const key of Object.keys(options ?? {})) {
    if (!FINDER_KEYS.includes(key) && !PHASE_ONLY_KEYS.includes(key)) refuse('options', `only ${FINDER_KEYS.join(', ')}`, `'${key}'`);
  }
  const { phase } = options ?? ({} as LrFinderOptions);
  if (phase !== 'head' && phase !== 'fine-tune') refuse('phase', "'head' or 'fine-tune'", phase === undefined ? 'nothing' : `'${phase}'`);
  if (phase === 'head' && options.from !== undefined) refuse('from', "nothing for phase 'head' (it is the first block fine-tuning unfreezes)", options.from);
  const method = options.suggest ?? LR_FINDER_DEFAULTS.suggest;
  if (!(LR_SUGGEST_METHODS as readonly string[]).includes(method)) refuse('suggest', LR_SUGGEST_METHODS.join(' or '), method);
  const range: LrRangeOptions = {
    start: options.start,
    end: options.end,
    steps: options.steps,
    batchSize: options.batchSize,
    optimizer: options.optimizer,
    seed: options.seed ?? derivedSeed(session.seed, `lr-finder:${phase}`),
    labelSmoothing: options.labelSmoothing,
    smoothing: options.smoothing,
    divergeFactor: options.divergeFactor,
    trainWorkers: options.trainWorkers,
    onStep: options.onStep,
  };
  resolveRange(range);
  if (phase === 'fine-tune' && session.stage.kind === 'initial') {
    throw new Error("findLearningRate({ phase: 'fine-tune' }): train the head first (trainHead, or restorePhase(exp, 'head')); fine-tuning starts from a trained head");
  }
  const at = phase === 'fine-tune' ? fineTuneBoundary(session, options.from) : undefined;
  const cut = at ? at.boundary : HEAD_LAYERS.pool;

  const model = session.classifier;
  const trainability = saveTrainability(model);
  const weights = new WeightSnapshot(model.weights.map((w) => w.read() as tf.Variable));
  weights.take(0);
  let suffix: tf.LayersModel | undefined;
  try {
    // The phase's starting weights first: the activations at the cut are keyed by (and computed from) them.
    session.loadPhaseStart(phase);
    if (at) unfreezeFrom(model, session.base, { from: at.block });
    else freezeBase(model, session.base);
    const t0 = Date.now();
    const views = await session.featureViews(cut);
    const featureSeconds = (Date.now() - t0) / 1000;
    const parts = cutModelAt(model, cut);
    parts.prefix.dispose();
    suffix = parts.suffix;
    const curve = await lrRangeTest(suffix, { source: new FeatureBatchSource(views.train, session.seed), indices: session.trainIndices }, range);
    if (!curve.points.length) throw new Error(`findLearningRate(${phase}): no step finished: ${curve.message}; check the data and the weights, or lower start`);
    const suggestion = suggestLearningRate(curve.points, method);
    session.callbacks.onMessage?.(
      `lr finder (${phase}): ${curve.points.length} steps in ${curve.seconds.toFixed(1)} s; suggested ${suggestion.learningRate.toExponential(1)}: ${suggestion.reason}` +
        (suggestion.warning ? ` (${suggestion.warning})` : ''),
    );
    return { ...curve, phase, cut, fromBlock: at?.block, suggestion, featureSeconds };
  } finally {
    suffix?.dispose();
    weights.restore();
    weights.dispose();
    restoreTrainability(model, trainability);
  }
}
