/**
 * The shared set-up of notebooks 03-05: data, pixels, base, classifier and training session, each kept for
 * the kernel's lifetime (`reuse`) and rebuilt only when the parameters it depends on change, so that
 * re-executing a cell is quick and leaks no tensors. The saved results of an earlier notebook are found
 * through the run folder keyed by the data's content, the base and the seed (`handoff.ts`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_AUGMENT } from '../data/augment';
import { defaultDataCacheDir } from '../data/cache-dir';
import { loadDataset } from '../data/load';
import { loadPixels, type PixelSet } from '../data/pixels';
import type { DataSplits } from '../data/types';
import { loadBase } from '../model/bases';
import { loadClassifier } from '../model/persist';
import { predictImage, type ImagePrediction } from '../model/predict';
import { buildClassifier } from '../model/surgery';
import type { LoadedBase } from '../model/types';
import { createProgressCallbacks } from '../train/progress';
import { createTrainingSession, type TrainingSession } from '../train/session';
import { experimentDir, loadPhase, resumeAfterHead, type ExperimentIdentity, type PhaseRecord, type SavedPhase } from './handoff';
import { releaseReused, reuse } from './reuse';
import type { GalleryImage } from './display';
import { fileDataUri } from './gallery';
import type { EvaluationReport } from '../evaluate/metrics';

/** The parameters that decide the data, the model and the session (a notebook's parameters cell has them). */
export interface ExperimentParameters {
  /** `auto`, `tfds`, `rendered`, or a folder/zip of `<class>/<image>`. */
  source: string;
  /** Sizes of the rendered set, when it is the source. */
  renderedTrain: number;
  renderedTest: number;
  /** Base id or `auto` (see `loadBase`). */
  base: string;
  imageSize: number;
  seed: number;
  /** Head: Dropout rate before the softmax layer. Default 0.2 (the Keras guide's). */
  dropout?: number;
  /** Head: units of an optional hidden Dense layer (0: none). Default 0. */
  hiddenUnits?: number;
  /** Fraction of the training images held out for validation. Default 0.1. */
  validationSplit?: number;
  /** Augment the training images (lib/data's default augmentation). Default true. */
  augment?: boolean;
  /** Augmented views per training image, computed once and cached. Default 2. */
  augmentViews?: number;
}

/** Everything the training notebooks work with. The slots own it all; do not dispose any of it. */
export interface Experiment {
  data: DataSplits;
  train: PixelSet;
  test: PixelSet;
  base: LoadedBase;
  classifier: tf.LayersModel;
  session: TrainingSession;
  identity: ExperimentIdentity;
  /** Where this experiment's phases are saved. */
  runDir: string;
}

/**
 * Loads (or reuses) the data, pixels, base, classifier and session for `P`. Changing the base or image
 * size rebuilds the base and everything built on it; changing the head rebuilds the classifier and the
 * session; training parameters (epochs, learning rates) do not live here and change nothing.
 */
export async function prepareExperiment(P: ExperimentParameters): Promise<Experiment> {
  const data = await loadDataset({ source: P.source, render: { train: P.renderedTrain, test: P.renderedTest }, quiet: true });
  const train = await loadPixels(data.train, { size: P.imageSize, quiet: true });
  const test = await loadPixels(data.test, { size: P.imageSize, quiet: true });
  const base = await reuse('experiment:base', { base: P.base, size: P.imageSize }, () => loadBase({ base: P.base, inputSize: P.imageSize }), (b) => {
    // Everything built on the base goes first.
    releaseReused('experiment:session');
    releaseReused('experiment:classifier');
    b.model.dispose();
  });
  const head = { dropout: P.dropout ?? 0.2, hiddenUnits: P.hiddenUnits ?? 0, seed: P.seed, classes: train.classes };
  const classifier = await reuse(
    'experiment:classifier',
    { base: P.base, size: P.imageSize, head },
    () => buildClassifier(base, { numClasses: train.classes.length, dropout: head.dropout, hiddenUnits: head.hiddenUnits, seed: P.seed }),
    (m) => {
      releaseReused('experiment:session');
      m.dispose();
    },
  );
  const sessionKey = {
    base: P.base,
    size: P.imageSize,
    head,
    train: train.key,
    test: test.key,
    validationSplit: P.validationSplit ?? 0.1,
    augment: P.augment ?? true,
    augmentViews: P.augmentViews ?? 2,
  };
  const session = await reuse(
    'experiment:session',
    sessionKey,
    () =>
      createTrainingSession({
        base,
        classifier,
        train,
        test,
        seed: P.seed,
        validationSplit: sessionKey.validationSplit,
        augment: sessionKey.augment ? { ...DEFAULT_AUGMENT } : false,
        augmentViews: sessionKey.augmentViews,
        cacheDir: defaultDataCacheDir(),
        callbacks: createProgressCallbacks({ mode: 'lines' }),
      }),
    (s) => s.dispose(),
  );
  const identity: ExperimentIdentity = { data: train.key, base: base.spec.id, seed: P.seed };
  return { data, train, test, base, classifier, session, identity, runDir: experimentDir(identity) };
}

/**
 * Copies the weights of a saved phase into the experiment's classifier (layer by layer, by name; the saved
 * classifier is disposed) and returns the phase's record. After `'head'`, the session continues from the
 * trained head: its history, learning rate and fine-tuning starting point. Throws naming the notebook to
 * run first when the phase was not saved, and naming the layer when the saved model does not fit.
 */
export async function restorePhase(exp: Experiment, phase: SavedPhase): Promise<PhaseRecord> {
  const { classifier: saved, record } = await loadPhase(exp.runDir, phase);
  try {
    for (const layer of saved.model.layers) {
      const weights = layer.getWeights();
      if (!weights.length) continue;
      let target: tf.layers.Layer;
      try {
        target = exp.classifier.getLayer(layer.name);
      } catch {
        throw new Error(`restorePhase(${phase}): the saved classifier has layer '${layer.name}', which this notebook's classifier lacks; use the same base and head parameters as the notebook that saved it`);
      }
      const shapes = target.getWeights().map((w) => w.shape.join('x'));
      const savedShapes = weights.map((w) => w.shape.join('x'));
      if (shapes.join(',') !== savedShapes.join(',')) {
        throw new Error(`restorePhase(${phase}): layer '${layer.name}' has weights ${savedShapes.join(', ')} saved but ${shapes.join(', ')} here; use the same base, image size and head parameters`);
      }
      target.setWeights(weights);
    }
  } finally {
    saved.model.dispose();
  }
  if (phase === 'head') resumeAfterHead(exp.session, record);
  return record;
}

/** Options for `newImageFiles`. */
export interface NewImageOptions {
  /** A folder of your own images (searched recursively for PNG/JPEG). Default: none, render new ones. */
  folder?: string;
  /** How many images (rendered: rounded up to a multiple of 3, one per class in turn). Default 6. */
  count?: number;
  /** Renderer seed for new images; pick one no split used. Default 424242. */
  seed?: number;
}

/**
 * Image files the model has never seen: those of `folder`, or `count` CGI hands rendered (and cached)
 * with a seed of their own.
 */
export async function newImageFiles(options: NewImageOptions = {}): Promise<string[]> {
  const count = options.count ?? 6;
  if (options.folder) {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (/\.(png|jpe?g)$/i.test(entry.name)) files.push(p);
      }
    };
    if (!fs.existsSync(options.folder)) throw new Error(`newImageFiles: folder ${options.folder} does not exist`);
    walk(options.folder);
    if (!files.length) throw new Error(`newImageFiles: no .png or .jpg images in ${options.folder}`);
    return files.sort().slice(0, count);
  }
  const perClass = Math.ceil(count / 3);
  const rendered = await loadDataset({ source: 'rendered', render: { train: 3, test: perClass * 3, seed: options.seed ?? 424242 }, quiet: true });
  // Interleave the classes so that a short list still shows each of them.
  const byClass = rendered.test.classes.map((_, k) => rendered.test.items.filter((it) => it.label === k).map((it) => it.file));
  const out: string[] = [];
  for (let i = 0; out.length < count && i < perClass; i++) for (const files of byClass) if (files[i] && out.length < count) out.push(files[i]);
  return out;
}

/**
 * Classifies image files with a classifier saved by `savePhase` (as an application would: load from disk,
 * predict, dispose). Returns one prediction per file.
 */
export async function classifyFiles(classifierDir: string, files: string[]): Promise<{ file: string; prediction: ImagePrediction }[]> {
  const classifier = await loadClassifier(classifierDir);
  try {
    const out: { file: string; prediction: ImagePrediction }[] = [];
    for (const file of files) out.push({ file, prediction: await predictImage(classifier, file) });
    return out;
  } finally {
    classifier.model.dispose();
  }
}

/**
 * Gallery entries for predictions on image files: the image, the predicted class and its probability.
 * For rendered images (in `<class>/<file>` folders) the drawn class is added, and a wrong prediction is red.
 */
export function predictionGallery(predictions: { file: string; prediction: ImagePrediction }[], options: { classFromFolder?: boolean } = {}): GalleryImage[] {
  return predictions.map(({ file, prediction }) => {
    const p = `${prediction.label} ${(prediction.probabilities[prediction.label] * 100).toFixed(0)} %`;
    if (!options.classFromFolder) return { image: fileDataUri(file), caption: p };
    const drawn = path.basename(path.dirname(file));
    return { image: fileDataUri(file), caption: `${p} (drawn: ${drawn})`, color: drawn === prediction.label ? undefined : '#cf222e' };
  });
}

/** The closing summary of notebook 05, with the numbers of this run. */
export function conclusionMarkdown(r: { baseLabel: string; headAccuracy: number; tuned: EvaluationReport; fromBlock: string }): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const delta = (r.tuned.accuracy - r.headAccuracy) * 100;
  const wrong = r.tuned.count - Math.round(r.tuned.accuracy * r.tuned.count);
  return [
    '## Summary',
    '',
    `- A MobileNetV2 pretrained on ImageNet (${r.baseLabel}) was frozen and given a new head; training only that head reached ` +
      `**${pct(r.headAccuracy)}** test accuracy on ${r.tuned.count} test images.`,
    `- Fine-tuning from ${r.fromBlock} at a low learning rate gave **${pct(r.tuned.accuracy)}** (${delta >= 0 ? '+' : ''}${delta.toFixed(1)} points).`,
    `- ${wrong === 0 ? 'No test image was misclassified.' : `${wrong} test image(s) were misclassified; the gallery above shows the most confident mistakes.`}`,
    '',
    'What carried over from the Keras guide: freeze the base, keep BatchNormalization in inference mode, train a small head ' +
      "first, then fine-tune the top blocks at a low learning rate. What we added for a CPU: the frozen part's outputs are " +
      'computed once and cached, so each epoch trains only what is trainable, and re-running a cell with other settings is quick.',
  ].join('\n');
}
