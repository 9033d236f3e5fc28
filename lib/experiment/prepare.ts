/**
 * The one assembly of an experiment: engine -> data -> pixels -> base -> classifier -> training session, from
 * `ExperimentParameters`. The CLI (`runPipeline`), the notebooks and the benchmarks all build through here.
 *
 * Each piece is kept for the process's lifetime (`reuse`) and rebuilt only when the parameters it depends on
 * change, so that re-executing a notebook cell is quick and leaks no tensors; `Experiment.dispose()` releases
 * them (the CLI does at the end; a notebook kernel keeps them).
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine, type EngineInfo } from '../engine/engine';
import { defaultDataCacheDir } from '../data/cache-dir';
import { loadDataset } from '../data/load';
import { loadPixels, type PixelSet } from '../data/pixels';
import type { DataSplits } from '../data/types';
import { loadBase } from '../model/bases';
import { copyWeightsByName } from '../model/weights';
import { CLASSIFIER_FORMAT_VERSION, type Classifier } from '../model/persist';
import { buildClassifier } from '../model/surgery';
import type { LoadedBase } from '../model/types';
import { fineTuneBoundary } from '../train/phases';
import { createProgressCallbacks, type TrainingCallbacks } from '../train/progress';
import { createTrainingSession, type TrainingSession } from '../train/session';
import type { TrainingHistory } from '../train/types';
import { augmentationOf, identityParameters, PARAMETERS, type ExperimentParameters, type ParameterName } from './parameters';
import { bindRunRecords, recordPhase } from './records';
import { releaseReused, reuse } from './reuse';
import { experimentDir, loadPhase, type ExperimentIdentity, type PhaseRecord, type SavedPhase } from './runs';

export interface PrepareOptions {
  /** No engine line, data summary or render progress printed. Default false. */
  quiet?: boolean;
  /** Progress hooks of the training session. Default: a line per epoch (`createProgressCallbacks({ mode: 'lines' })`). */
  callbacks?: TrainingCallbacks;
}

export { headPhaseOptions, fineTunePhaseOptions } from './phase-options';

/** Everything a training run works with. The experiment owns it all: call `dispose()`, never dispose the parts. */
export class Experiment {
  constructor(
    readonly parameters: Readonly<ExperimentParameters>,
    readonly engine: EngineInfo,
    readonly cacheDir: string,
    readonly data: DataSplits,
    readonly train: PixelSet,
    readonly test: PixelSet,
    readonly base: LoadedBase,
    readonly classifier: tf.LayersModel,
    readonly session: TrainingSession,
    readonly identity: ExperimentIdentity,
    /** Where this experiment's phases are saved (`savePhase`). */
    readonly runDir: string,
    /** The block fine-tuning starts at and the layer that ends the frozen prefix then (resolved before any training). */
    readonly fineTuneAt: { block: string; boundary: string },
    /** Seconds each step of the assembly took in this call (`engine`, `data`, `pixels`, `base`, `session`). */
    readonly timings: Record<string, number>,
  ) {}

  get classes(): string[] {
    return this.train.classes;
  }

  get history(): TrainingHistory {
    return this.session.history;
  }

  get headLearningRate(): number | undefined {
    return this.session.headLearningRate;
  }

  /** The classifier as it is now, in lib/model's `Classifier` form (for `predictImage`, `gradCam`); shares the model: do not dispose it. */
  asClassifier(): Classifier {
    const { inputSize, pixelRange, id } = this.base.spec;
    return { model: this.classifier, metadata: { classes: this.classes, inputSize, pixelRange, base: id, formatVersion: CLASSIFIER_FORMAT_VERSION, savedAt: '' } };
  }

  /** Releases the session, classifier and base (idempotent). */
  dispose(): void {
    releaseExperiment();
  }
}

const SLOTS = { base: 'experiment:base', model: 'experiment:model' } as const;

/** Disposes whatever `prepareExperiment` keeps (classifier and session, then the base). */
export function releaseExperiment(): void {
  releaseReused(SLOTS.model);
  releaseReused(SLOTS.base);
}

/**
 * The base's weights as loaded. Training a classifier changes the base's shared layers in place (fine-tuning), so
 * every new classifier starts from these: a rebuilt experiment never continues from an earlier one's training.
 */
const pristine = new WeakMap<LoadedBase, Map<tf.LayerVariable, tf.Tensor>>();

function resetBaseWeights(base: LoadedBase): void {
  const saved = pristine.get(base);
  if (!saved) throw new Error('prepareExperiment: the base was not loaded by prepareBase');
  for (const w of base.model.weights) {
    const v = saved.get(w);
    if (!v) throw new Error(`prepareExperiment: base weight '${w.name}' has no saved value`);
    // The variable shares the saved tensor's data (reference-counted); its next update replaces it again.
    w.write(v);
  }
}

/** The parameters of the given groups (for the keys of what they build). */
function pick(p: ExperimentParameters, ...names: ParameterName[]): Record<string, unknown> {
  return Object.fromEntries(names.map((k) => [k, p[k]]));
}

/** The data splits and their pixels at the parameters' image size (decoded once, then from the pixel cache). */
export async function prepareData(
  p: ExperimentParameters,
  options: { quiet?: boolean; onLoaded?: () => void } = {},
): Promise<{ data: DataSplits; train: PixelSet; test: PixelSet }> {
  const quiet = options.quiet ?? false;
  const cacheDir = p.cacheDir ?? defaultDataCacheDir();
  const render = { train: p.renderedTrain, test: p.renderedTest, splitDesign: p.splitDesign };
  const data = await loadDataset({ data: p.data, mixRendered: p.mixRendered, cacheDir, render, seed: p.seed, quiet });
  options.onLoaded?.();
  const train = await loadPixels(data.train, { size: p.imageSize, cacheDir, quiet });
  const test = await loadPixels(data.test, { size: p.imageSize, cacheDir, quiet });
  return { data, train, test };
}

/** Indices of `train` that `mixRendered` added (kept out of validation: it measures the user's own images). */
function renderedIndices(data: DataSplits, train: PixelSet): number[] {
  const rendered = new Set(data.train.items.filter((it) => it.origin === 'rendered').map((it) => it.file));
  return train.files.flatMap((f, i) => (rendered.has(f) ? [i] : []));
}

function baseSlotKey(p: ExperimentParameters): Record<string, unknown> {
  return { ...pick(p, 'base', 'imageSize'), cacheDir: p.cacheDir ?? defaultDataCacheDir() };
}

/** The base at the parameters' image size, kept for the process like everything `prepareExperiment` builds on it. */
export async function prepareBase(p: ExperimentParameters, options: { quiet?: boolean } = {}): Promise<LoadedBase> {
  const cacheDir = p.cacheDir ?? defaultDataCacheDir();
  const load = async () => {
    const base = await loadBase({ base: p.base, inputSize: p.imageSize, cacheDir, quiet: options.quiet });
    // Device copies: every engine (webgpu too) takes and restores them synchronously.
    pristine.set(base, new Map(base.model.weights.map((w) => [w, w.read().clone()])));
    return base;
  };
  return reuse(SLOTS.base, baseSlotKey(p), load, (b) => {
    // Everything built on the base goes first.
    releaseReused(SLOTS.model);
    tf.dispose([...(pristine.get(b)?.values() ?? [])]);
    pristine.delete(b);
    b.model.dispose();
  });
}

/**
 * Builds (or reuses) the engine, data, pixels, base, classifier and session for `p`. Changing the base or image
 * size reloads the base; changing the head, the validation split, the augmentation or the seed builds a new
 * classifier and session on the base's original weights; training parameters (epochs, learning rates) change
 * nothing here, so the phases can be re-run with other ones on the same session. The fine-tuning block is resolved against the base here, so a bad `fineTuneFrom`
 * fails before any training.
 */
export async function prepareExperiment(p: ExperimentParameters, options: PrepareOptions = {}): Promise<Experiment> {
  const quiet = options.quiet ?? false;
  const cacheDir = p.cacheDir ?? defaultDataCacheDir();
  const timings: Record<string, number> = {};
  let mark = Date.now();
  const lap = (name: string) => {
    const now = Date.now();
    timings[name] = (now - mark) / 1000;
    mark = now;
  };
  const engine = await initEngine({ engine: p.engine, quiet });
  lap('engine');
  const { data, train, test } = await prepareData(p, { quiet, onLoaded: () => lap('data') });
  lap('pixels');
  const base = await prepareBase(p, { quiet });
  lap('base');
  const augment = augmentationOf(p);
  const modelKey = {
    ...baseSlotKey(p),
    ...pick(p, 'dropout', 'hiddenUnits', 'seed', 'validationSplit', 'augmentViews', 'workers'),
    augment,
    classes: train.classes,
    train: train.key,
    test: test.key,
  };
  // Resolved before the session is built, so a bad `fineTuneFrom` fails before any work. The session's frozen passes
  // go through its boundary, so head training's pass also yields fine-tuning's inputs (a session reused with another
  // `fineTuneFrom` keeps its first boundary: that changes what is cached on the way, not any result).
  const fineTuneAt = fineTuneBoundary({ base }, p.fineTuneFrom);
  // The classifier and its session are built together, on the base as loaded: a session that starts from a
  // classifier an earlier session trained would continue from that training (and its validation images).
  const { classifier, session } = await reuse(
    SLOTS.model,
    modelKey,
    () => {
      resetBaseWeights(base);
      const classifier = buildClassifier(base, { numClasses: train.classes.length, dropout: p.dropout, hiddenUnits: p.hiddenUnits, seed: p.seed });
      const session = createTrainingSession({
        base,
        classifier,
        train,
        test,
        seed: p.seed,
        validationSplit: p.validationSplit,
        trainOnly: renderedIndices(data, train),
        augment,
        augmentViews: p.augmentViews,
        cacheDir,
        workers: p.workers,
        viaCut: fineTuneAt.boundary,
        callbacks: options.callbacks ?? createProgressCallbacks({ mode: 'lines' }),
        // Every phase run on the session is recorded (lib/experiment/records.ts), from a notebook cell or the CLI.
        onPhaseEnd: (result) => recordPhase(session, result),
      });
      return { classifier, session };
    },
    (m) => {
      m.session.dispose();
      m.classifier.dispose();
    },
  );
  lap('session');
  const identity = experimentIdentity(p, train, test, base);
  const exp = new Experiment(p, engine, cacheDir, data, train, test, base, classifier, session, identity, experimentDir(identity, cacheDir), fineTuneAt, timings);
  bindRunRecords(exp);
  return exp;
}

/** The identity of the experiment `p` builds: data by content, the resolved base, and the other identity parameters. */
function experimentIdentity(p: ExperimentParameters, train: PixelSet, test: PixelSet, base: LoadedBase): ExperimentIdentity {
  // The data's and base's own parameters are pinned down by the content keys and the resolved base id.
  const own = Object.fromEntries(Object.entries(identityParameters(p)).filter(([k]) => PARAMETERS[k as ParameterName].group !== 'data' && k !== 'base'));
  return { train: train.key, test: test.key, base: base.spec.id, parameters: own };
}

/**
 * Puts the weights of a saved phase into the experiment's classifier (by layer name; the loaded copy is disposed)
 * and returns the phase's record. After `'head'`, the session continues from the trained head: its history,
 * learning rate and fine-tuning starting point; after `'fine-tune'`, its stage and history are the saved run's, so
 * evaluation runs the fine-tuned suffix on the cached activations at that run's boundary. Throws naming the notebook
 * to run first when the phase was not saved for this experiment (and how saved runs differ), and naming the layer
 * when the saved model does not fit.
 */
export async function restorePhase(exp: Experiment, phase: SavedPhase): Promise<PhaseRecord> {
  const { classifier: saved, record } = await loadPhase(exp.runDir, phase, exp.identity);
  try {
    copyWeightsByName(saved.model, exp.classifier, `restorePhase(${phase})`);
  } finally {
    saved.model.dispose();
  }
  if (phase === 'head') {
    exp.session.resumeFromHead(record);
  } else {
    const at = fineTuneBoundary(exp.session, record.results.fromBlock ?? record.parameters.fineTuneFrom);
    exp.session.resumeFromFineTune(record, at.boundary, at.block);
  }
  return record;
}
