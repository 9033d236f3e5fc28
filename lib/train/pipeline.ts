/**
 * The whole recipe in one call: engine, data, base, pixels, head training, fine-tuning, evaluation, saving.
 * Used by the CLI (`npm run train`) and the benchmarks; notebooks call the same steps one by one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type EngineChoice, type EngineInfo } from '../engine/engine';
import { loadDataset } from '../data/load';
import { loadPixels } from '../data/pixels';
import { DEFAULT_AUGMENT, type AugmentOptions } from '../data/augment';
import type { RenderSpec } from '../data/types';
import { defaultDataCacheDir } from '../data/cache-dir';
import { loadBase } from '../model/bases';
import { buildClassifier } from '../model/surgery';
import { saveClassifier } from '../model/persist';
import { evaluateSession } from '../evaluate/session';
import { formatEvaluation, type EvaluationReport } from '../evaluate/metrics';
import { writeJsonAtomic } from '../util/atomic';
import { createTrainingSession } from './session';
import { fineTune, trainHead, type PhaseResult } from './phases';
import { createProgressCallbacks, formatDuration, type ProgressMode } from './progress';
import type { LrSchedule } from './schedule';
import type { OptimizerName } from './loop';
import type { TrainingHistory } from './types';

/** Every knob of the pipeline. Each field's default is given here and in `PIPELINE_DEFAULTS`. */
export interface PipelineOptions {
  /** Engine: 'auto' (GPU, native, wasm, cpu in that order), or one of them. Default: env RPS_BACKEND, else 'auto'. */
  engine?: EngineChoice;
  /** Data: 'auto' (TFDS when cached or downloadable, else the rendered set), 'tfds', 'rendered', or a folder/zip. Default 'auto'. */
  data?: string;
  /** Rendered data only: image counts and seed. Default 2520 train / 372 test, seed 0 (the TFDS sizes). */
  render?: RenderSpec;
  /** Base: 'auto' (online ImageNet MobileNetV2 when cached or reachable, else the embedded one), a registry id or a model.json. Default 'auto'. */
  base?: string;
  /**
   * Square input size in pixels (multiple of 32). Default 128: the tutorial's 160 costs 1.5x more per image,
   * and fine-tuning from block_11 at 160 px alone would take about 100 s per epoch of 2520 images on 2 cores
   * with the wasm engine, which does not fit the 10-minute budget of the default run.
   */
  imageSize?: number;
  /**
   * Head-training epochs. Default 30: on cached activations an epoch of 2520 images takes well under a second,
   * and with the embedded base the head is still improving after the tutorial's 10 (81 % test accuracy at
   * 10 epochs in our run); early stopping ends it when val_loss stops improving.
   */
  epochs?: number;
  /** Fine-tuning epochs; 0 skips fine-tuning. Default 10, as in the tutorial (early stopping may end it sooner). */
  fineTuneEpochs?: number;
  /** Head-training learning rate (Adam). Default 1e-3. */
  learningRate?: number;
  /** Fine-tuning learning rate. Default a tenth of `learningRate`. */
  fineTuneLearningRate?: number;
  /** First block to unfreeze for fine-tuning. Default 'block_11' (the tutorial's fine_tune_at = 100). */
  fineTuneFrom?: string;
  /** Optimizers. Default 'adam' for both. */
  optimizer?: OptimizerName;
  fineTuneOptimizer?: OptimizerName;
  /** Images per step. Default 32. */
  batchSize?: number;
  /** Fraction of the training images held out for validation. Default 0.1. */
  validationSplit?: number;
  /** Epochs without val_loss improvement before stopping (best weights restored); 0 turns early stopping off. Default 3. */
  patience?: number;
  /** Learning-rate schedule within each phase. Default constant. */
  lrSchedule?: LrSchedule;
  /** Augmentation: true (the defaults of lib/data), false, or options. Default true. */
  augment?: boolean | AugmentOptions;
  /** Cached augmented views per training image. Default 2. */
  augmentViews?: number;
  /** Dropout before the output layer. Default 0.2. */
  dropout?: number;
  /** Hidden units in the head (0: none). Default 0. */
  hiddenUnits?: number;
  /** One seed for data order, validation split, augmentation, initializers and dropout. Default 0. */
  seed?: number;
  /** Worker threads for computing activations. Default: the number of cores (1 on native engines). */
  workers?: number;
  /**
   * Threads each training step's batch is split across (gradients averaged, one optimizer step; 1 = off).
   * Default: `defaultTrainWorkers(model)` of lib/train/parallel.ts (2 on wasm and cpu, 1 on native engines).
   */
  trainWorkers?: number;
  /** Cache root (data, pixels, bases, activations). Default: env RPS_CACHE_DIR, else `<project>/data`. */
  cacheDir?: string;
  /** Where the model, metrics.json and options.json go. Default 'runs/latest'. */
  outDir?: string;
  /** Progress display: 'auto' (a status line in a terminal, a line per epoch elsewhere), 'terminal', 'lines', 'silent'. Default 'auto'. */
  progress?: ProgressMode;
}

/** The defaults of `PipelineOptions` (fine-tuning's learning rate derives from `learningRate`). */
export const PIPELINE_DEFAULTS = {
  engine: 'auto' as EngineChoice,
  data: 'auto',
  base: 'auto',
  imageSize: 128,
  epochs: 30,
  fineTuneEpochs: 10,
  learningRate: 1e-3,
  fineTuneFrom: 'block_11',
  optimizer: 'adam' as OptimizerName,
  fineTuneOptimizer: 'adam' as OptimizerName,
  batchSize: 32,
  validationSplit: 0.1,
  patience: 3,
  augment: true as boolean | AugmentOptions,
  augmentViews: 2,
  dropout: 0.2,
  hiddenUnits: 0,
  seed: 0,
  outDir: path.join('runs', 'latest'),
  progress: 'auto' as ProgressMode,
};

export type ResolvedPipelineOptions = typeof PIPELINE_DEFAULTS & {
  fineTuneLearningRate: number;
  render?: RenderSpec;
  lrSchedule?: LrSchedule;
  workers?: number;
  trainWorkers?: number;
  cacheDir: string;
};

/** Fills in the defaults and checks every value; throws naming the option and what was expected. */
export function resolvePipelineOptions(options: PipelineOptions = {}): ResolvedPipelineOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PipelineOptions;
  const o = { ...PIPELINE_DEFAULTS, ...defined };
  const int = (v: number, name: string, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`${name}: expected an integer >= ${min}, got ${v}`);
  };
  const positive = (v: number, name: string) => {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name}: expected a positive number, got ${v}`);
  };
  int(o.imageSize, 'imageSize', 32);
  if (o.imageSize % 32) throw new Error(`imageSize: expected a multiple of 32 (MobileNet strides), got ${o.imageSize}`);
  int(o.epochs, 'epochs', 1);
  int(o.fineTuneEpochs, 'fineTuneEpochs', 0);
  int(o.batchSize, 'batchSize', 1);
  int(o.patience, 'patience', 0);
  int(o.augmentViews, 'augmentViews', 1);
  int(o.hiddenUnits, 'hiddenUnits', 0);
  int(o.seed, 'seed', 0);
  if (o.workers !== undefined) int(o.workers, 'workers', 1);
  if (o.trainWorkers !== undefined) int(o.trainWorkers, 'trainWorkers', 1);
  positive(o.learningRate, 'learningRate');
  const fineTuneLearningRate = options.fineTuneLearningRate ?? o.learningRate / 10;
  positive(fineTuneLearningRate, 'fineTuneLearningRate');
  if (!(o.validationSplit >= 0 && o.validationSplit < 1)) throw new Error(`validationSplit: expected a number in [0, 1), got ${o.validationSplit}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new Error(`dropout: expected a number in [0, 1), got ${o.dropout}`);
  for (const k of ['optimizer', 'fineTuneOptimizer'] as const) {
    if (!['adam', 'rmsprop', 'sgd'].includes(o[k])) throw new Error(`${k}: expected adam, rmsprop or sgd, got '${o[k]}'`);
  }
  if (!['auto', 'terminal', 'lines', 'silent'].includes(o.progress)) throw new Error(`progress: expected auto, terminal, lines or silent, got '${o.progress}'`);
  return { ...o, fineTuneLearningRate, cacheDir: path.resolve(o.cacheDir ?? defaultDataCacheDir()), outDir: path.resolve(o.outDir) };
}

/** The options as aligned `name: value` lines (printed at the start of a run and saved in options.json). */
export function formatPipelineOptions(o: ResolvedPipelineOptions): string {
  const w = Math.max(...Object.keys(o).map((k) => k.length));
  return Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${k.padEnd(w)}  ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}

export interface PipelineResult {
  options: ResolvedPipelineOptions;
  engine: EngineInfo;
  data: { source: string; train: number; test: number; classes: string[]; skipped: number };
  base: { id: string; inputSize: number; source: string };
  history: TrainingHistory;
  head: { phase: PhaseSummary; evaluation: EvaluationReport };
  fineTune?: { phase: PhaseSummary; evaluation: EvaluationReport };
  /** Wall-clock seconds of each step and in total. */
  timings: Record<string, number>;
  /** Where the model and JSON files were written. */
  files: { model: string; metrics: string; options: string };
}

/** A phase's result without the per-epoch records (those are in `history`). */
export type PhaseSummary = Omit<PhaseResult, 'records'>;

function summary(r: PhaseResult): PhaseSummary {
  const { records: _records, ...rest } = r;
  return rest;
}

/** Runs everything and saves `<outDir>/model/`, `<outDir>/metrics.json` and `<outDir>/options.json`. */
export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineResult> {
  const o = resolvePipelineOptions(options);
  const log = (line: string) => {
    if (o.progress !== 'silent') console.log(line);
  };
  const quiet = o.progress === 'silent';
  log(`rps-transfer pipeline, options:\n${formatPipelineOptions(o)}`);
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  let mark = t0;
  const lap = (name: string) => {
    const now = Date.now();
    timings[name] = (now - mark) / 1000;
    mark = now;
  };

  const engine = await initEngine({ engine: o.engine, quiet });
  lap('engine');
  const splits = await loadDataset({ source: o.data, cacheDir: o.cacheDir, render: o.render, seed: o.seed, quiet });
  lap('data');
  const base = await loadBase({ base: o.base, inputSize: o.imageSize, cacheDir: o.cacheDir, quiet });
  lap('base');
  let classifier: tf.LayersModel | undefined;
  let session: ReturnType<typeof createTrainingSession> | undefined;
  try {
    const train = await loadPixels(splits.train, { size: o.imageSize, cacheDir: o.cacheDir, quiet });
    const test = await loadPixels(splits.test, { size: o.imageSize, cacheDir: o.cacheDir, quiet });
    lap('pixels');
    classifier = buildClassifier(base, { numClasses: train.classes.length, dropout: o.dropout, hiddenUnits: o.hiddenUnits, seed: o.seed });
    const augment = o.augment === true ? { ...DEFAULT_AUGMENT } : o.augment;
    session = createTrainingSession({
      base,
      classifier,
      train,
      test,
      seed: o.seed,
      validationSplit: o.validationSplit,
      augment,
      augmentViews: o.augmentViews,
      cacheDir: o.cacheDir,
      workers: o.workers,
      callbacks: createProgressCallbacks({ mode: o.progress }),
    });
    const earlyStopping = o.patience > 0 ? { patience: o.patience } : (false as const);
    const head = await trainHead(session, {
      epochs: o.epochs,
      learningRate: o.learningRate,
      batchSize: o.batchSize,
      optimizer: o.optimizer,
      earlyStopping,
      schedule: o.lrSchedule,
      trainWorkers: o.trainWorkers,
    });
    lap('head');
    const headEval = await evaluateSession(session);
    lap('evaluateHead');
    log(`head only, test set:\n${formatEvaluation(headEval)}`);
    let ft: PipelineResult['fineTune'];
    if (o.fineTuneEpochs > 0) {
      const phase = await fineTune(session, {
        from: o.fineTuneFrom,
        epochs: o.fineTuneEpochs,
        learningRate: o.fineTuneLearningRate,
        batchSize: o.batchSize,
        optimizer: o.fineTuneOptimizer,
        earlyStopping,
        schedule: o.lrSchedule,
        trainWorkers: o.trainWorkers,
      });
      lap('fineTune');
      const evaluation = await evaluateSession(session);
      lap('evaluateFineTune');
      log(`after fine-tuning from ${phase.fromBlock}, test set:\n${formatEvaluation(evaluation)}`);
      ft = { phase: summary(phase), evaluation };
    }

    const modelDir = path.join(o.outDir, 'model');
    await saveClassifier(classifier, modelDir, {
      classes: train.classes,
      inputSize: o.imageSize,
      pixelRange: base.spec.pixelRange,
      base: base.spec.id,
      fineTunedFrom: ft ? o.fineTuneFrom : null,
      testAccuracy: (ft ?? { evaluation: headEval }).evaluation.accuracy,
    });
    lap('save');
    timings.total = (Date.now() - t0) / 1000;
    const result: PipelineResult = {
      options: o,
      engine,
      data: { source: splits.source, train: train.count, test: test.count, classes: train.classes, skipped: splits.skipped.length },
      base: { id: base.spec.id, inputSize: base.spec.inputSize, source: base.source },
      history: session.history,
      head: { phase: summary(head), evaluation: headEval },
      fineTune: ft,
      timings,
      files: { model: modelDir, metrics: path.join(o.outDir, 'metrics.json'), options: path.join(o.outDir, 'options.json') },
    };
    fs.mkdirSync(o.outDir, { recursive: true });
    writeJsonAtomic(result.files.options, o);
    writeJsonAtomic(result.files.metrics, {
      engine: engine.summary,
      data: result.data,
      base: result.base,
      headTestAccuracy: headEval.accuracy,
      fineTuneTestAccuracy: ft?.evaluation.accuracy ?? null,
      history: result.history,
      head: result.head,
      fineTune: result.fineTune ?? null,
      timings,
    });
    log(
      `done in ${formatDuration(timings.total)}: test accuracy head only ${(headEval.accuracy * 100).toFixed(2)} %` +
        (ft ? `, after fine-tuning ${(ft.evaluation.accuracy * 100).toFixed(2)} %` : '') +
        `; saved to ${o.outDir}`,
    );
    return result;
  } finally {
    session?.dispose();
    classifier?.dispose();
    base.model.dispose();
  }
}
