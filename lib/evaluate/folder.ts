/** Evaluating a saved classifier on a labelled folder of images (what `npm run evaluate` does). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanClassFolders } from '../data/folder';
import { loadPixels, type PixelSet } from '../data/pixels';
import { TFDS_TEST_FOLDER } from '../data/tfds';
import type { SkippedFile } from '../data/types';
import type { Classifier } from '../model/persist';
import { predictPixels } from '../model/predict';
import { evaluatePredictions, type EvaluateOptions, type EvaluationReport } from './metrics';

/**
 * The folder of class folders to evaluate on: `folder` itself, or its `rps-test-set/` when it holds one (a TFDS
 * or rendered data root). Throws naming the path when it is missing or not a folder.
 */
export function evaluationFolder(folder: string): string {
  if (!fs.existsSync(folder)) throw new Error(`data folder not found: ${folder}`);
  if (!fs.statSync(folder).isDirectory()) throw new Error(`expected a folder of <class>/<image>, got a file: ${folder}`);
  const test = path.join(folder, TFDS_TEST_FOLDER);
  return fs.existsSync(test) && fs.statSync(test).isDirectory() ? test : folder;
}

export interface EvaluateFolderOptions extends EvaluateOptions {
  /** Pixel cache root (`<cacheDir>/pixels/`). Default: the data cache (env RPS_CACHE_DIR, else `<project>/data`). */
  cacheDir?: string;
  /** No progress lines or warnings. Default: false. */
  quiet?: boolean;
  /** Decoding threads. Default: `loadPixels`' (the cores). */
  workers?: number;
  /** Test-time augmentation views averaged per image (lib/data/tta.ts). Default `DEFAULT_TTA`. */
  tta?: number;
}

/** A classifier's metrics on a folder, with the decoded images (for the misclassified gallery). */
export interface FolderEvaluation {
  /** The folder of class folders that was evaluated. */
  folder: string;
  report: EvaluationReport;
  /** The evaluated images at the classifier's input size, in report order. Read-only. */
  pixels: PixelSet;
  /** Files left out (not images, undecodable), with the reason. */
  skipped: SkippedFile[];
}

/**
 * Classifies every image of a `<class>/<image>` folder (see `evaluationFolder`) with `classifier` and computes the
 * metrics. Class folders are matched to the classifier's classes by name; one the classifier does not know is an
 * error naming it. Each image goes through `predictPixels`, so its probabilities are `predictImage`'s for the
 * file. No tensors stay allocated.
 */
export async function evaluateClassifierOnFolder(classifier: Classifier, folder: string, options: EvaluateFolderOptions = {}): Promise<FolderEvaluation> {
  const root = evaluationFolder(folder);
  const { classes, inputSize } = classifier.metadata;
  const scan = scanClassFolders(root, { split: 'test', source: 'folder', name: path.basename(root), classes });
  const pixels = await loadPixels(scan.dataset, { size: inputSize, cacheDir: options.cacheDir, quiet: options.quiet, workers: options.workers });
  const skipped = [...scan.skipped, ...(pixels.skipped ?? [])];
  if (!pixels.count) throw new Error(`no image in ${root} could be decoded (${skipped.length} file(s) skipped, e.g. ${skipped[0]?.file}: ${skipped[0]?.reason})`);
  const per = inputSize * inputSize * 3;
  const probs = new Float32Array(pixels.count * classes.length);
  for (let i = 0; i < pixels.count; i++) {
    const p = await predictPixels(classifier, pixels.pixels.subarray(i * per, (i + 1) * per), pixels.files[i], { tta: options.tta });
    classes.forEach((c, k) => (probs[i * classes.length + k] = p.probabilities[c]));
  }
  const report = evaluatePredictions({ probs, numClasses: classes.length, labels: pixels.labels, classes, files: pixels.files }, options);
  return { folder: root, report, pixels, skipped };
}
