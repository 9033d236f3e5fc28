/**
 * The whole recipe in one call: `prepareExperiment` (engine, data, pixels, base, classifier, session), head
 * training, fine-tuning, evaluation after each, and saving. Used by the CLI (`npm run train`) and the benchmarks;
 * the notebooks run the same steps one by one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineInfo } from '../engine/engine';
import { formatEvaluation, type EvaluationReport } from '../evaluate/metrics';
import { saveClassifier } from '../model/persist';
import { fineTune, fineTuneLearningRate, trainHead, type PhaseResult } from '../train/phases';
import { findLearningRate } from '../train/lr_finder';
import { createProgressCallbacks, DEFAULT_PROGRESS, formatDuration, PROGRESS_MODES, type ProgressMode } from '../train/progress';
import type { TrainingHistory } from '../train/types';
import { buildDirAtomic, writeJsonAtomic } from '../util/atomic';
import { evaluateSession } from './evaluate';
import { formatParameters, PARAMETERS, resolveParameters, type ExperimentParameters, type ResolvedParameters } from './parameters';
import { fineTunePhaseOptions, headPhaseOptions, prepareExperiment, type Experiment } from './prepare';
import { copyRunRecords, recordOf, recordsDir, type RunRecord } from './records';
import { PixelBatchSource } from '../train/batches';
import { outputsFinite, PROBE_SAMPLES } from '../train/loop';

/** Where and how a pipeline run reports; its experiment is described by `ExperimentParameters`. */
export interface RunOptions {
  /** Where the model, metrics.json, options.json and records/ go. Default `RUN_DEFAULTS.out`. */
  out?: string;
  /** Progress display (see lib/train/progress.ts). Default `DEFAULT_PROGRESS`. */
  progress?: ProgressMode;
  /**
   * Run the learning-rate finder (lib/train/lr_finder.ts) for the head before training it: its suggestion is printed
   * and kept in metrics.json (`lrFinder`); training still uses `headLearningRate`. Default false.
   */
  lrFinder?: boolean;
}

export const RUN_DEFAULTS = { out: path.join('runs', 'latest'), progress: DEFAULT_PROGRESS } as const;

/** Any parameters (the rest at their defaults) and where the results go. */
export type PipelineOptions = Partial<ExperimentParameters> & RunOptions;

export interface PipelineResult {
  parameters: ExperimentParameters;
  engine: EngineInfo;
  data: { source: string; train: number; test: number; classes: string[]; skipped: number };
  base: { id: string; inputSize: number; source: string };
  history: TrainingHistory;
  head: { phase: PhaseSummary; evaluation: EvaluationReport };
  fineTune?: { phase: PhaseSummary; evaluation: EvaluationReport };
  /** Wall-clock seconds of each step and in total. */
  timings: Record<string, number>;
  /** Where the model and JSON files were written; `records`: the run records of both phases (also in the cache's run folder). */
  files: { model: string; metrics: string; options: string; records: string[] };
}

/** A phase's result without the per-epoch records (those are in `history`). */
export type PhaseSummary = Omit<PhaseResult, 'records'>;

function summary(r: PhaseResult): PhaseSummary {
  const { records: _records, ...rest } = r;
  return rest;
}

/** Throws naming the folder when `dir` cannot be created or written (checked before any training). */
function checkWritable(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-check-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
  } catch (err) {
    throw new Error(`out: cannot write to ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); choose another --out`);
  }
}

/**
 * Throws when the model as it would be saved gives non-finite outputs (on its test evaluation, or, through the
 * whole network, on a few training images): such a model must not be saved.
 */
async function checkFinite(exp: Experiment, evaluation: EvaluationReport, after: string): Promise<void> {
  const probe = { source: new PixelBatchSource(exp.train, exp.base.spec.pixelRange), indices: exp.session.trainIndices.slice(0, PROBE_SAMPLES) };
  if (!Number.isFinite(evaluation.loss) || !(await outputsFinite(exp.classifier, probe))) {
    throw new Error(`after ${after}, the model gives non-finite outputs (test loss ${evaluation.loss}); nothing was saved. Try a lower learning rate.`);
  }
}

/** A phase that stopped on non-finite values says so on the console, whatever the progress mode. */
function reportStop(phase: PhaseResult): void {
  if (phase.stopReason === 'non-finite-loss' && phase.message) console.warn(`warning: ${phase.message}`);
}

/**
 * Runs everything and saves `<out>/model/`, `<out>/metrics.json`, `<out>/options.json` and the phases' run records
 * in `<out>/records/`. The parameters in
 * `options` are resolved over the defaults; `from` says where each came from, for the printed table (the CLI
 * passes it). Fails before any training on a bad parameter, an unknown fine-tuning block or an unwritable `out`;
 * a run whose final model gives non-finite outputs fails and saves nothing.
 */
export async function runPipeline(options: PipelineOptions = {}, from?: Partial<ResolvedParameters['from']>): Promise<PipelineResult> {
  const { out: outOption, progress: progressOption, lrFinder, ...values } = options;
  const resolved = resolveParameters([{ from: 'options', values }]);
  Object.assign(resolved.from, from);
  if (resolved.values.fineTuneLearningRate === undefined) {
    resolved.values.fineTuneLearningRate = fineTuneLearningRate(resolved.values.headLearningRate);
    resolved.from.fineTuneLearningRate = PARAMETERS.fineTuneLearningRate.defaultText ?? 'default';
  }
  const p = resolved.values;
  const progress = progressOption ?? RUN_DEFAULTS.progress;
  if (!PROGRESS_MODES.includes(progress)) throw new Error(`progress: expected one of ${PROGRESS_MODES.join(', ')}, got '${progress}'`);
  const out = path.resolve(outOption ?? RUN_DEFAULTS.out);
  const quiet = progress === 'silent';
  const log = (line: string) => {
    if (!quiet) console.log(line);
  };
  checkWritable(out);
  log(`rps-transfer pipeline, parameters:\n${formatParameters(resolved)}\n  out: ${out}`);
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  let mark = t0;
  const lap = (name: string) => {
    const now = Date.now();
    timings[name] = (now - mark) / 1000;
    mark = now;
  };

  const exp = await prepareExperiment(p, { quiet, callbacks: createProgressCallbacks({ mode: progress }) });
  try {
    Object.assign(timings, exp.timings);
    mark = Date.now();
    const finder = lrFinder ? await findLearningRate(exp.session, { ...headPhaseOptions(p), phase: 'head' }) : undefined;
    if (finder) {
      lap('lrFinder');
      log(`learning-rate finder (head): suggested ${finder.suggestion.learningRate.toExponential(1)}, ${finder.suggestion.reason}; training at ${p.headLearningRate}`);
    }
    const head = await trainHead(exp.session, headPhaseOptions(p));
    lap('head');
    const headEval = await evaluateSession(exp.session, { tta: p.tta });
    lap('evaluateHead');
    reportStop(head);
    await checkFinite(exp, headEval, 'head training');
    log(`head only, test set:\n${formatEvaluation(headEval)}`);
    let ft: PipelineResult['fineTune'];
    const runs = [recordOf(head)];
    if (p.fineTuneEpochs > 0) {
      const phase = await fineTune(exp.session, fineTunePhaseOptions(p));
      runs.push(recordOf(phase));
      lap('fineTune');
      const evaluation = await evaluateSession(exp.session, { tta: p.tta });
      lap('evaluateFineTune');
      reportStop(phase);
      await checkFinite(exp, evaluation, 'fine-tuning');
      log(`after fine-tuning from ${phase.fromBlock}, test set:\n${formatEvaluation(evaluation)}`);
      ft = { phase: summary(phase), evaluation };
    }

    const modelDir = path.join(out, 'model');
    await saveClassifier(exp.classifier, modelDir, {
      classes: exp.classes,
      inputSize: p.imageSize,
      pixelRange: exp.base.spec.pixelRange,
      base: exp.base.spec.id,
      fineTunedFrom: ft ? exp.fineTuneAt.block : null,
      testAccuracy: (ft ?? { evaluation: headEval }).evaluation.accuracy,
    });
    // This run's records only: an earlier run into the same folder is replaced, as its model is.
    const records: string[] = [];
    await buildDirAtomic(recordsDir(out), (tmp) => {
      records.push(...copyRunRecords(runs.filter((r): r is RunRecord => r !== undefined), tmp).map((f) => path.join(recordsDir(out), path.basename(f))));
    });
    lap('save');
    timings.total = (Date.now() - t0) / 1000;
    const result: PipelineResult = {
      parameters: p,
      engine: exp.engine,
      data: { source: exp.data.source, train: exp.train.count, test: exp.test.count, classes: exp.classes, skipped: exp.data.skipped.length },
      base: { id: exp.base.spec.id, inputSize: exp.base.spec.inputSize, source: exp.base.source },
      history: exp.history,
      head: { phase: summary(head), evaluation: headEval },
      fineTune: ft,
      timings,
      files: { model: modelDir, metrics: path.join(out, 'metrics.json'), options: path.join(out, 'options.json'), records },
    };
    writeJsonAtomic(result.files.options, { ...p, out, progress });
    writeJsonAtomic(result.files.metrics, {
      engine: exp.engine.summary,
      data: result.data,
      base: result.base,
      headTestAccuracy: headEval.accuracy,
      fineTuneTestAccuracy: ft?.evaluation.accuracy ?? null,
      history: result.history,
      head: result.head,
      fineTune: result.fineTune ?? null,
      ...(finder ? { lrFinder: { head: { suggestion: finder.suggestion, points: finder.points } } } : {}),
      timings,
    });
    log(
      `done in ${formatDuration(timings.total)}: test accuracy head only ${(headEval.accuracy * 100).toFixed(2)} %` +
        (ft ? `, after fine-tuning ${(ft.evaluation.accuracy * 100).toFixed(2)} %` : '') +
        `; saved to ${out}`,
    );
    return result;
  } finally {
    exp.dispose();
  }
}
