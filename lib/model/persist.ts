/**
 * Saving and loading a trained classifier: a folder with model.json + weights.bin (the tfjs layers format,
 * standard Keras layers only, so `tensorflowjs_converter --input_format tfjs_layers_model --output_format
 * keras` turns it into a Keras .h5) and metadata.json (classes, input size, pixel range, base). Written
 * atomically: the folder is complete or absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildDirAtomic } from '../util/atomic';
import { modelFromArtifacts, readModelDir } from './artifacts';
import { guardAllBatchNorm } from './batchnorm';
import type { PixelRange } from './types';

/** Version of the saved folder layout. */
export const CLASSIFIER_FORMAT_VERSION = 1;

/** What `saveClassifier` needs to know besides the model; extra fields are kept as given. */
export interface ClassifierMetadataInput {
  /** Class names in output order. */
  classes: string[];
  /** Square input size in pixels. */
  inputSize: number;
  /** Pixel range the network expects. */
  pixelRange: PixelRange;
  /** Base id it was built on. */
  base: string;
  [extra: string]: unknown;
}

export interface ClassifierMetadata extends ClassifierMetadataInput {
  formatVersion: number;
  /** ISO time of saving. */
  savedAt: string;
}

/** A loaded classifier: the caller owns `model`. */
export interface Classifier {
  model: tf.LayersModel;
  metadata: ClassifierMetadata;
  /** The folder it was loaded from (set by `loadClassifier`), for messages. */
  dir?: string;
}

function checkMetadata(model: tf.LayersModel, m: ClassifierMetadataInput, where: string): void {
  if (!Array.isArray(m.classes) || m.classes.length < 2 || !m.classes.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new Error(`${where}: classes must be a list of at least 2 non-empty names`);
  }
  if (new Set(m.classes).size !== m.classes.length) throw new Error(`${where}: classes must be unique, got ${m.classes.join(', ')}`);
  const units = model.outputs[0].shape[model.outputs[0].shape.length - 1];
  if (units !== m.classes.length) throw new Error(`${where}: ${m.classes.length} classes given but the model outputs ${units} values`);
  const inShape = model.inputs[0].shape;
  if (inShape[1] !== m.inputSize || inShape[2] !== m.inputSize) {
    throw new Error(`input size mismatch: ${where}: inputSize ${m.inputSize} but the model takes ${inShape[1]}x${inShape[2]}`);
  }
  const r = m.pixelRange;
  if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite) || !(r[0] < r[1])) {
    throw new Error(`${where}: pixelRange must be [low, high] with low < high, got ${JSON.stringify(r)}`);
  }
  if (typeof m.base !== 'string' || !m.base) throw new Error(`${where}: base must be the base id, got ${JSON.stringify(m.base)}`);
}

/** Writes `model` and its metadata to folder `dir` (replaced atomically if it exists). Returns the metadata written. */
export async function saveClassifier(model: tf.LayersModel, dir: string, metadata: ClassifierMetadataInput): Promise<ClassifierMetadata> {
  checkMetadata(model, metadata, `saveClassifier(${dir})`);
  const full: ClassifierMetadata = { ...metadata, formatVersion: CLASSIFIER_FORMAT_VERSION, savedAt: new Date().toISOString() };
  await buildDirAtomic(dir, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const data = artifacts.weightData;
        const bytes = Buffer.from(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : (data ?? new ArrayBuffer(0)));
        fs.writeFileSync(path.join(tmp, 'weights.bin'), bytes);
        const json = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        };
        fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
      }),
    );
    fs.writeFileSync(path.join(tmp, 'metadata.json'), JSON.stringify(full, null, 2) + '\n');
  });
  return full;
}

/**
 * Loads a folder written by `saveClassifier`. BatchNormalization layers are guarded (inference mode) as in
 * a frozen base, so that further training keeps Keras semantics. A truncated or damaged weights.bin, or weights
 * that are not finite, are refused naming the file (see `readModelDir`). The caller owns `model`.
 */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const metaFile = path.join(dir, 'metadata.json');
  if (!fs.existsSync(metaFile)) throw new Error(`loadClassifier: ${dir} is not a saved classifier (no metadata.json)`);
  let metadata: ClassifierMetadata;
  try {
    metadata = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as ClassifierMetadata;
  } catch (err) {
    throw new Error(`loadClassifier: ${metaFile} is not valid JSON (${(err as Error).message})`);
  }
  if (metadata.formatVersion !== CLASSIFIER_FORMAT_VERSION) {
    throw new Error(`loadClassifier: ${metaFile} has formatVersion ${metadata.formatVersion}; this library reads ${CLASSIFIER_FORMAT_VERSION}`);
  }
  const raw = readModelDir(path.join(dir, 'model.json'));
  const model = await modelFromArtifacts(
    {
      modelTopology: raw.json.modelTopology,
      format: 'layers-model',
      weightSpecs: (raw.json.weightsManifest ?? []).flatMap((g) => g.weights),
      weightData: raw.weightData,
    },
    raw.source,
  );
  try {
    checkMetadata(model, metadata, `loadClassifier(${dir})`);
  } catch (err) {
    model.dispose();
    throw err;
  }
  guardAllBatchNorm(model);
  return { model, metadata, dir };
}
