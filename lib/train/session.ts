/**
 * A training session: one classifier on one base, its train/test pixels, the validation split, the feature
 * store and the history of both phases. The phases (`trainHead`, `fineTune`) are separate functions that
 * take the session, so a notebook can run and re-run each in its own cell while the caches stay warm.
 *
 * Re-running a phase starts from the same weights each time: head training from the classifier's weights
 * at session creation, fine-tuning from the weights head training ended with. So a cell re-executed with
 * another learning rate compares like with like instead of continuing from the previous attempt.
 */
import * as tf from '@tensorflow/tfjs';
import { augmentPixels, DEFAULT_AUGMENT, type AugmentOptions } from '../data/augment';
import { testTimeView, TTA_AUGMENT, TTA_VERSION } from '../data/tta';
import type { PixelSet } from '../data/pixels';
import { splitIndices } from '../data/split';
import { cutModelAt } from '../model/cut';
import { ancestorTensors, layerOutputIn } from '../model/graph';
import { weightOriginalName } from '../model/layers';
import type { LoadedBase } from '../model/types';
import { sha256 } from '../util/hash';
import { derivedSeed } from '../util/random';
import { extractFeatures, type ActivationInput, type ExtractOptions, type Features } from './extract';
import { FeatureStore, type FeatureArray } from './feature_store';
import { createProgressCallbacks, type TrainingCallbacks } from './progress';
import type { FeatureViews } from './batches';
import type { PhaseResult } from './phases';
import type { EpochRecord, PixelInput, TrainingHistory, TrainingPhase } from './types';
import { DEFAULT_SEED } from '../util/random';

/** The session's defaults (see `TrainingSessionOptions`). */
export const SESSION_DEFAULTS = { validationSplit: 0.1, augmentViews: 2, extractBatchSize: 32 } as const;

/** What the classifier holds now: untrained head, trained head, or fine-tuned from a block boundary. */
export type SessionStage = { kind: 'initial' } | { kind: 'head' } | { kind: 'fine-tune'; boundary: string; fromBlock: string };

export interface TrainingSessionOptions {
  /** The loaded base the classifier was built on (its spec gives blocks, input size and pixel range). */
  base: LoadedBase;
  /** The classifier from `buildClassifier(base, ...)`; the session trains it in place but does not own it. */
  classifier: tf.LayersModel;
  /** Training images at the base's input size. */
  train: PixelInput;
  /** Test images (for evaluation), same size. Optional. */
  test?: PixelInput;
  /** Seeds the validation split, batch order, augmentation and dropout. Default `DEFAULT_SEED`. */
  seed?: number;
  /** Fraction of the training images held out (stratified) for validation and early stopping. Default `SESSION_DEFAULTS`; 0 for none. */
  validationSplit?: number;
  /**
   * Indices into `train` that are always trained on and never validated on, e.g. rendered hands mixed into a
   * user's own photos (`mixRendered`): validation then measures the user's images only. Default: none.
   */
  trainOnly?: readonly number[];
  /**
   * Augmentation of the training images, or false. Default: lib/data's `DEFAULT_AUGMENT` (the Keras tutorial's
   * augmentation layers).
   */
  augment?: AugmentOptions | false;
  /**
   * Augmented views per training image that are computed once and cached; each epoch every image uses one of
   * them, drawn with the seed. Default `SESSION_DEFAULTS`. Trade-off: fresh augmentation (as Keras does it) shows a new
   * variant every epoch but needs a full forward pass of the frozen base per image and epoch; K cached views
   * cost K forward passes in total and show K variants. With 10 epochs, K = 2..4 keeps most of the
   * regularising effect at a fraction of the cost.
   */
  augmentViews?: number;
  /**
   * A layer the frozen passes to later cuts go through: its activations are computed (or found) first and kept, and
   * the rest of the pass continues from them. Set to the fine-tuning boundary, head training's pass over the whole
   * base also yields fine-tuning's inputs, so the base's first blocks run once per image for both phases. It must be
   * a cut no skip connection crosses; cuts not after it are computed directly. Default: none (every cut from the pixels).
   */
  viaCut?: string;
  /** Root folder of the disk cache of activations (`<cacheDir>/features/`). Default: none, memory only. */
  cacheDir?: string;
  /** Worker threads for computing activations (see lib/train/extract.ts). Default: its default (the cores). */
  workers?: number;
  /** Images per forward pass when computing activations. Default `SESSION_DEFAULTS`. */
  extractBatchSize?: number;
  /** Progress hooks used by the phases unless a phase gets its own. Default: `createProgressCallbacks()`. */
  callbacks?: TrainingCallbacks;
  /** Called after every completed phase with its result (lib/experiment records runs with it). Default: none. */
  onPhaseEnd?: (result: PhaseResult) => void | Promise<unknown>;
}

/**
 * Which weights a phase restores before it runs: the variables' tensors themselves (tensors are immutable and a
 * variable's update replaces its tensor, so holding them is a copy), kept on the device: no engine has to read
 * device memory back synchronously (webgpu cannot in Node). The session owns and disposes them.
 */
interface Snapshot {
  /** Keyed by the variable itself: `model.weights` lists trainable weights first, so its order changes with freezing. */
  values: Map<tf.LayerVariable, tf.Tensor>;
}

export class TrainingSession {
  readonly base: LoadedBase;
  readonly classifier: tf.LayersModel;
  readonly train: PixelInput;
  readonly test?: PixelInput;
  readonly seed: number;
  readonly augment: AugmentOptions | false;
  readonly augmentViews: number;
  readonly store: FeatureStore;
  readonly callbacks: TrainingCallbacks;
  readonly workers?: number;
  readonly extractBatchSize: number;
  readonly viaCut?: string;
  /** Indices into `train` used for training and for validation (sorted). */
  readonly trainIndices: number[];
  readonly valIndices: number[];
  private historyNow: TrainingHistory = { records: [], fineTuneStartEpoch: null };
  private stageNow: SessionStage = { kind: 'initial' };
  private headRate?: number;
  /** The classifier's weights at creation (device copies, so every engine can take them synchronously). */
  private initial?: Snapshot;
  private afterHead?: Snapshot;
  private disposed = false;
  private readonly onPhaseEnd?: (result: PhaseResult) => void | Promise<unknown>;

  constructor(options: TrainingSessionOptions) {
    const { base, classifier, train, test } = options;
    const size = base.spec.inputSize;
    const inShape = classifier.inputs[0].shape;
    for (const [name, set] of [['train', train], ['test', test]] as const) {
      if (!set) continue;
      if (set.size !== inShape[1] || set.size !== inShape[2]) {
        throw new Error(`TrainingSession: ${name} images are ${set.size}x${set.size}, but the classifier takes ${inShape[1]}x${inShape[2]} (base input ${size})`);
      }
      if (set.pixels.length !== set.count * set.size * set.size * 3 || set.labels.length !== set.count) {
        throw new Error(`TrainingSession: ${name} pixel set is inconsistent (count ${set.count}, ${set.pixels.length} bytes, ${set.labels.length} labels)`);
      }
    }
    const numClasses = classifier.outputs[0].shape[classifier.outputs[0].shape.length - 1] as number;
    if (train.classes.length !== numClasses) {
      throw new Error(`TrainingSession: the classifier has ${numClasses} outputs but the data has ${train.classes.length} classes (${train.classes.join(', ')})`);
    }
    this.base = base;
    this.classifier = classifier;
    this.train = train;
    this.test = test;
    this.seed = options.seed ?? DEFAULT_SEED;
    const views = options.augmentViews ?? SESSION_DEFAULTS.augmentViews;
    if (!(Number.isInteger(views) && views >= 1)) throw new Error(`augmentViews: expected an integer >= 1, got ${views}`);
    this.augment = options.augment === undefined ? { ...DEFAULT_AUGMENT } : options.augment;
    this.augmentViews = this.augment ? views : 1;
    const split = options.validationSplit ?? SESSION_DEFAULTS.validationSplit;
    if (!(split >= 0 && split < 1)) throw new Error(`validationSplit: expected a number in [0, 1), got ${split}`);
    if (split > 0) {
      const fixed = new Set(options.trainOnly ?? []);
      for (const i of fixed) if (!(Number.isInteger(i) && i >= 0 && i < train.count)) throw new Error(`TrainingSession: trainOnly index ${i} out of range [0, ${train.count})`);
      const own = Array.from({ length: train.count }, (_, i) => i).filter((i) => !fixed.has(i));
      const { a, b } = splitIndices(own.map((i) => train.labels[i]), { fraction: split, seed: derivedSeed(this.seed, 'validation'), stratified: true });
      this.trainIndices = [...a.map((k) => own[k]), ...fixed].sort((x, y) => x - y);
      this.valIndices = b.map((k) => own[k]);
    } else {
      this.trainIndices = Array.from({ length: train.count }, (_, i) => i);
      this.valIndices = [];
    }
    this.store = new FeatureStore({ cacheDir: options.cacheDir });
    this.callbacks = options.callbacks ?? createProgressCallbacks();
    this.workers = options.workers;
    this.extractBatchSize = options.extractBatchSize ?? SESSION_DEFAULTS.extractBatchSize;
    if (options.viaCut !== undefined) {
      // Fails early, naming the layer, when it is not in the classifier or a skip connection crosses it.
      const { prefix, suffix } = cutModelAt(classifier, options.viaCut);
      prefix.dispose();
      suffix.dispose();
      this.viaCut = options.viaCut;
    }
    this.onPhaseEnd = options.onPhaseEnd;
    this.initial = this.snapshot();
  }

  get numClasses(): number {
    return this.train.classes.length;
  }

  /** Both phases, continuous epoch numbering (a copy: the session changes its own). */
  get history(): TrainingHistory {
    return { records: [...this.historyNow.records], fineTuneStartEpoch: this.historyNow.fineTuneStartEpoch };
  }

  /** What the classifier holds now. */
  get stage(): SessionStage {
    return this.stageNow;
  }

  /** Learning rate the head was trained with (fine-tuning's default is a tenth of it), once it was. */
  get headLearningRate(): number | undefined {
    return this.headRate;
  }

  /** Head training begins: the weights the session was created with are put back and the history is cleared. */
  startHead(): void {
    this.assertLive();
    this.restore(this.initial);
    disposeSnapshot(this.afterHead);
    this.historyNow = { records: [], fineTuneStartEpoch: null };
    this.stageNow = { kind: 'initial' };
    this.afterHead = undefined;
  }

  /** Head training ended with `records` at `learningRate`: its weights become fine-tuning's starting point. */
  completeHead(records: readonly EpochRecord[], learningRate: number): void {
    this.assertLive();
    this.historyNow = { records: records.filter((r) => r.phase === 'head'), fineTuneStartEpoch: null };
    this.headRate = learningRate;
    this.stageNow = { kind: 'head' };
    disposeSnapshot(this.afterHead);
    this.afterHead = this.snapshot();
  }

  /**
   * The classifier holds a head trained elsewhere (loaded from a saved run): continue from it as if
   * `completeHead` had just run with that history and rate.
   */
  resumeFromHead(saved: { history: TrainingHistory; headLearningRate: number }): void {
    this.completeHead(saved.history.records, saved.headLearningRate);
  }

  /**
   * The classifier holds weights fine-tuned elsewhere from block `fromBlock` (frozen prefix ending at `boundary`),
   * loaded from a saved run: the stage and history say so, and predictions run the suffix on the activations at
   * `boundary` (the frozen prefix is unchanged, so a cache from the run that trained it applies). Fine-tuning
   * again needs a trained head (`resumeFromHead` or `trainHead`), because the head's weights are not at hand.
   */
  resumeFromFineTune(saved: { history: TrainingHistory; headLearningRate: number }, boundary: string, fromBlock: string): void {
    this.assertLive();
    disposeSnapshot(this.afterHead);
    this.afterHead = undefined;
    this.headRate = saved.headLearningRate;
    this.historyNow = { records: [...saved.history.records], fineTuneStartEpoch: saved.history.fineTuneStartEpoch };
    this.stageNow = { kind: 'fine-tune', boundary, fromBlock };
  }

  /**
   * Fine-tuning begins: the weights head training ended with are put back; returns the head's records (to which
   * fine-tuning's are appended). Throws when no head was trained.
   */
  startFineTune(): EpochRecord[] {
    this.assertLive();
    if (!this.afterHead) throw new Error('fineTune: train the head first (trainHead(session, ...)); fine-tuning starts from a trained head');
    this.restore(this.afterHead);
    this.historyNow = { records: this.historyNow.records.filter((r) => r.phase === 'head'), fineTuneStartEpoch: null };
    this.stageNow = { kind: 'head' };
    return [...this.historyNow.records];
  }

  /**
   * Puts back the weights `phase` starts from (head: those of session creation; fine-tune: those head training ended
   * with) and leaves history and stage alone: for a tool that starts where a phase would and puts the weights it
   * found back afterwards (the learning-rate finder). Throws for fine-tuning when no head was trained.
   */
  loadPhaseStart(phase: TrainingPhase): void {
    this.assertLive();
    if (phase === 'head') return this.restore(this.initial);
    if (!this.afterHead) throw new Error('TrainingSession.loadPhaseStart: no trained head yet, so fine-tuning has no starting point');
    this.restore(this.afterHead);
  }

  /** Fine-tuning from block `fromBlock` (frozen prefix ending at `boundary`) ended with `records`, numbered from `firstEpoch`. */
  completeFineTune(records: readonly EpochRecord[], firstEpoch: number, boundary: string, fromBlock: string): void {
    this.assertLive();
    this.historyNow = { records: [...this.historyNow.records.filter((r) => r.phase === 'head'), ...records], fineTuneStartEpoch: firstEpoch };
    this.stageNow = { kind: 'fine-tune', boundary, fromBlock };
  }

  /** A phase completed (its `complete*` already ran): passes its result to `onPhaseEnd`. Called by the phases. */
  async phaseEnded(result: PhaseResult): Promise<void> {
    this.assertLive();
    await this.onPhaseEnd?.(result);
  }

  /** The seed of augmented view `view` (1..augmentViews) of the training images: one rule for cached and plain paths. */
  augmentSeed(view: number): number {
    return derivedSeed(this.seed, `augment-view:${view}`);
  }

  /** Augmented view `view` (1..augmentViews) of the training pixels (a new set; the session keeps nothing). */
  augmentedTrainPixels(view: number): PixelInput {
    if (!this.augment) throw new Error('augmentedTrainPixels: the session has no augmentation');
    return augmentPixels(this.train as PixelSet, { ...this.augment, seed: this.augmentSeed(view) });
  }

  /**
   * Activations of the classifier's layer `cut` (everything before it frozen) for every image of a split:
   * the clean images (`view` 0), augmented training view `view` (1..augmentViews), or test-time augmentation
   * view `view` of the test images (`testTimeView`, lib/data/tta.ts). Cached in memory and on disk,
   * keyed by the base, the weights before the cut, the cut, the input size and range, the data's content key
   * and the augmentation. The arrays belong to the session's store.
   */
  async activations(cut: string, split: 'train' | 'test', view: number): Promise<FeatureArray> {
    this.assertLive();
    const set = split === 'train' ? this.train : this.test;
    if (!set) throw new Error(`activations: the session has no ${split} images`);
    if (!Number.isInteger(view) || view < 0) throw new Error(`activations: view must be an integer >= 0, got ${view}`);
    if (view > 0 && split === 'train' && !this.augment) throw new Error('activations: augmented training views exist only with augmentation on');
    const { prefix, suffix } = cutModelAt(this.classifier, cut);
    // The suffix is not needed here, but it holds references to the shared layers until disposed.
    suffix.dispose();
    try {
      const augSeed = this.augmentSeed(view);
      const viewKey = view === 0 ? 'clean' : split === 'train' ? { augment: this.augment, seed: augSeed } : { tta: TTA_AUGMENT, view, version: TTA_VERSION };
      const parts = {
        base: this.base.spec.id,
        weights: await weightsFingerprint(prefix),
        cut,
        size: set.size,
        range: this.base.spec.pixelRange,
        data: set.key,
        view: viewKey,
        extractor: 'folded',
      };
      return await this.store.get(`${cut}:${split}:${view}`, parts, async () => {
        const label = `${cut} ${split}${view ? ` view ${view}` : ''}`;
        const extract = { batchSize: this.extractBatchSize, workers: this.workers, onProgress: (done: number, total: number) => this.callbacks.onExtractProgress?.({ label, done, total }) };
        const via = this.viaCut !== undefined && this.viaCut !== cut && isBefore(this.classifier, this.viaCut, cut) ? this.viaCut : undefined;
        const from = via ? await this.activations(via, split, view) : undefined;
        // Timed after `from`, which reports its own time.
        const t0 = Date.now();
        let out: { data: Float32Array; shape: number[] };
        if (via && from) {
          out = await this.extractBetween(via, cut, { values: from.data, shape: from.shape }, extract);
        } else {
          const pixels = view === 0 ? set : split === 'train' ? this.augmentedTrainPixels(view) : testTimeView(set, view);
          out = await extractFeatures(prefix, { pixels: pixels.pixels, count: pixels.count, size: pixels.size, range: this.base.spec.pixelRange }, extract);
        }
        const seconds = ((Date.now() - t0) / 1000).toFixed(1);
        this.callbacks.onMessage?.(`computed activations at ${label}${via ? ` (from those at ${via})` : ''}: ${set.count} images in ${seconds}s`);
        return out;
      });
    } finally {
      prefix.dispose();
    }
  }

  /** The frozen layers from `from` to `to` run over activations at `from` (the caller owns the result). */
  private async extractBetween(from: string, to: string, input: ActivationInput, options: ExtractOptions): Promise<Features> {
    const models: tf.LayersModel[] = [];
    try {
      const outer = cutModelAt(this.classifier, from);
      models.push(outer.prefix, outer.suffix);
      const inner = cutModelAt(outer.suffix, to);
      models.push(inner.prefix, inner.suffix);
      return await extractFeatures(inner.prefix, input, options);
    } finally {
      for (const m of models) m.dispose();
    }
  }

  /** The training views (augmented, or the clean one without augmentation) and the clean view, at `cut`. */
  async featureViews(cut: string): Promise<{ train: FeatureViews; clean: FeatureViews }> {
    const clean = await this.activations(cut, 'train', 0);
    const sampleShape = clean.shape.slice(1);
    const views: Float32Array[] = [];
    if (this.augment) {
      for (let v = 1; v <= this.augmentViews; v++) views.push((await this.activations(cut, 'train', v)).data);
    } else {
      views.push(clean.data);
    }
    return { train: { views, sampleShape, labels: this.train.labels }, clean: { views: [clean.data], sampleShape, labels: this.train.labels } };
  }

  /** Releases the cached activations held in memory (disk entries stay) and the weight snapshots. */
  dispose(): void {
    if (this.disposed) return;
    this.store.dispose();
    disposeSnapshot(this.initial);
    disposeSnapshot(this.afterHead);
    this.initial = undefined;
    this.afterHead = undefined;
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('TrainingSession: used after dispose()');
  }

  private snapshot(): Snapshot {
    this.assertLive();
    return { values: new Map(this.classifier.weights.map((w) => [w, w.read().clone()])) };
  }

  private restore(s: Snapshot | undefined): void {
    this.assertLive();
    if (!s) throw new Error('TrainingSession: no weights to restore (used after dispose()?)');
    for (const w of this.classifier.weights) {
      const v = s.values.get(w);
      if (!v) throw new Error(`TrainingSession: weight '${w.name}' is not in the snapshot (was the classifier rebuilt?)`);
      // The variable takes the snapshot's tensor (shared, reference-counted); its next update replaces it again.
      w.write(v);
    }
  }
}

function disposeSnapshot(s: Snapshot | undefined): void {
  if (s) tf.dispose([...s.values.values()]);
}

/** Whether layer `later`'s output depends on layer `earlier`'s (for an uncrossed `earlier`: it can be computed from it). */
function isBefore(model: tf.LayersModel, earlier: string, later: string): boolean {
  return ancestorTensors([layerOutputIn(model, later)]).has(layerOutputIn(model, earlier).id);
}

/**
 * A content hash of a model's weights (so cached activations follow any change of the frozen part). By weight name:
 * `model.weights` lists trainable weights first, and the same weights must give the same hash frozen or not.
 */
export async function weightsFingerprint(model: tf.LayersModel): Promise<string> {
  const parts: string[] = [];
  const named = model.weights.map((w) => ({ w, name: weightOriginalName(w) })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { w, name } of named) {
    const d = (await w.read().data()) as Float32Array;
    parts.push(`${name}:${sha256(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))}`);
  }
  return sha256(parts.join(',')).slice(0, 16);
}

/** Creates a session (see `TrainingSessionOptions`); dispose it when done. */
export function createTrainingSession(options: TrainingSessionOptions): TrainingSession {
  return new TrainingSession(options);
}
