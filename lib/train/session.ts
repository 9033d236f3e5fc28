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
import type { PixelSet } from '../data/pixels';
import { splitIndices } from '../data/split';
import { cutModelAt } from '../model/cut';
import type { LoadedBase } from '../model/types';
import { sha256 } from '../util/hash';
import { derivedSeed } from '../util/random';
import { extractFeatures } from './extract';
import { FeatureStore } from './feature_store';
import { createProgressCallbacks, type TrainingCallbacks } from './progress';
import type { FeatureViews } from './batches';
import type { PixelInput, TrainingHistory } from './types';

export interface TrainingSessionOptions {
  /** The loaded base the classifier was built on (its spec gives blocks, input size and pixel range). */
  base: LoadedBase;
  /** The classifier from `buildClassifier(base, ...)`; the session trains it in place but does not own it. */
  classifier: tf.LayersModel;
  /** Training images at the base's input size. */
  train: PixelInput;
  /** Test images (for evaluation), same size. Optional. */
  test?: PixelInput;
  /** Seeds the validation split, batch order, augmentation and dropout. Default 0. */
  seed?: number;
  /** Fraction of the training images held out (stratified) for validation and early stopping. Default 0.1; 0 for none. */
  validationSplit?: number;
  /**
   * Augmentation of the training images, or false. Default: lib/data's DEFAULT_AUGMENT (flip, rotation 0.2,
   * zoom, brightness and contrast 0.1, as the Keras tutorial's augmentation layers).
   */
  augment?: AugmentOptions | false;
  /**
   * Augmented views per training image that are computed once and cached; each epoch every image uses one of
   * them, drawn with the seed. Default 2. Trade-off: fresh augmentation (as Keras does it) shows a new
   * variant every epoch but needs a full forward pass of the frozen base per image and epoch; K cached views
   * cost K forward passes in total and show K variants. With 10 epochs, K = 2..4 keeps most of the
   * regularising effect at a fraction of the cost.
   */
  augmentViews?: number;
  /** Root folder of the disk cache of activations (`<cacheDir>/features/`). Default: none, memory only. */
  cacheDir?: string;
  /** Worker threads for computing activations (see lib/train/extract.ts). Default: its default (the cores). */
  workers?: number;
  /** Images per forward pass when computing activations. Default 32. */
  extractBatchSize?: number;
  /** Progress hooks used by the phases unless a phase gets its own. Default: `createProgressCallbacks()`. */
  callbacks?: TrainingCallbacks;
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
  /** Indices into `train` used for training and for validation (sorted). */
  readonly trainIndices: number[];
  readonly valIndices: number[];
  /** Both phases, continuous epoch numbering. */
  history: TrainingHistory = { records: [], fineTuneStartEpoch: null };
  /** What the classifier holds now: untrained head, trained head, or fine-tuned from a block boundary. */
  stage: { kind: 'initial' } | { kind: 'head' } | { kind: 'fine-tune'; boundary: string; fromBlock: string } = { kind: 'initial' };
  /** Learning rate of the last head training (fine-tuning's default is a tenth of it). */
  headLearningRate?: number;
  /** Taken when head training first runs (so a session that never trains holds no tensors). */
  private initial?: Snapshot;
  private afterHead?: Snapshot;
  private disposed = false;

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
    this.seed = options.seed ?? 0;
    const views = options.augmentViews ?? 2;
    if (!(Number.isInteger(views) && views >= 1)) throw new Error(`augmentViews: expected an integer >= 1, got ${views}`);
    this.augment = options.augment === undefined ? { ...DEFAULT_AUGMENT } : options.augment;
    this.augmentViews = this.augment ? views : 1;
    const split = options.validationSplit ?? 0.1;
    if (!(split >= 0 && split < 1)) throw new Error(`validationSplit: expected a number in [0, 1), got ${split}`);
    if (split > 0) {
      const { a, b } = splitIndices(train.labels, { fraction: split, seed: derivedSeed(this.seed, 'validation'), stratified: true });
      this.trainIndices = a;
      this.valIndices = b;
    } else {
      this.trainIndices = Array.from({ length: train.count }, (_, i) => i);
      this.valIndices = [];
    }
    this.store = new FeatureStore({ cacheDir: options.cacheDir });
    this.callbacks = options.callbacks ?? createProgressCallbacks();
    this.workers = options.workers;
    this.extractBatchSize = options.extractBatchSize ?? 32;
  }

  get numClasses(): number {
    return this.train.classes.length;
  }

  /** Puts back the classifier's weights as they were when this was first called (by the first head training). */
  restoreInitialWeights(): void {
    if (this.initial) this.restore(this.initial);
    else this.initial = this.snapshot();
  }

  /** Puts back the weights head training ended with; throws when head training has not run. */
  restoreHeadWeights(): void {
    if (!this.afterHead) throw new Error('fineTune: train the head first (trainHead(session, ...)); fine-tuning starts from a trained head');
    this.restore(this.afterHead);
  }

  /** Records the current weights as the start of fine-tuning. */
  markHeadTrained(): void {
    this.assertLive();
    disposeSnapshot(this.afterHead);
    this.afterHead = this.snapshot();
  }

  /**
   * Activations of the classifier's layer `cut` (everything before it frozen) for every image of a split:
   * the clean images (`view` 0) or augmented view `view` (1..augmentViews). Cached in memory and on disk,
   * keyed by the base, the weights before the cut, the cut, the input size and range, the data's content key
   * and the augmentation. The arrays belong to the session's store.
   */
  async activations(cut: string, split: 'train' | 'test', view: number): Promise<{ data: Float32Array; shape: number[] }> {
    this.assertLive();
    const set = split === 'train' ? this.train : this.test;
    if (!set) throw new Error(`activations: the session has no ${split} images`);
    if (view > 0 && (!this.augment || split !== 'train')) throw new Error(`activations: augmented views exist only for train with augmentation on`);
    const { prefix, suffix } = cutModelAt(this.classifier, cut);
    // The suffix is not needed here, but it holds references to the shared layers until disposed.
    suffix.dispose();
    try {
      const augSeed = derivedSeed(this.seed, `augment-view:${view}`);
      const parts = {
        base: this.base.spec.id,
        weights: await weightsFingerprint(prefix),
        cut,
        size: set.size,
        range: this.base.spec.pixelRange,
        data: set.key,
        view: view === 0 ? 'clean' : { augment: this.augment, seed: augSeed },
        extractor: 'folded',
      };
      return await this.store.get(`${cut}:${split}:${view}`, parts, async () => {
        const pixels = view === 0 ? set : augmentPixels(set as PixelSet, { ...(this.augment as AugmentOptions), seed: augSeed });
        const label = `${cut} ${split}${view ? ` view ${view}` : ''}`;
        const t0 = Date.now();
        const out = await extractFeatures(
          prefix,
          { pixels: pixels.pixels, count: pixels.count, size: pixels.size, range: this.base.spec.pixelRange },
          {
            batchSize: this.extractBatchSize,
            workers: this.workers,
            onProgress: (done, total) => this.callbacks.onExtractProgress?.({ label, done, total }),
          },
        );
        this.callbacks.onMessage?.(`computed activations at ${label}: ${pixels.count} images in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        return out;
      });
    } finally {
      prefix.dispose();
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

  private restore(s: Snapshot): void {
    this.assertLive();
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

/** A content hash of a model's weights (so cached activations follow any change of the frozen part). */
export async function weightsFingerprint(model: tf.LayersModel): Promise<string> {
  const parts: string[] = [];
  for (const w of model.weights) {
    const d = (await w.read().data()) as Float32Array;
    parts.push(sha256(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
  }
  return sha256(parts.join(',')).slice(0, 16);
}

/** Creates a session (see `TrainingSessionOptions`); dispose it when done. */
export function createTrainingSession(options: TrainingSessionOptions): TrainingSession {
  return new TrainingSession(options);
}
