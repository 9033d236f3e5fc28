/** Classifying new image files and folders (what `npm run predict` does), one image at a time. */
import { listImageFiles } from '../data/folder';
import type { SkippedFile } from '../data/types';
import { imageFileProblem } from '../data/validate';
import { loadClassifier } from './persist';
import { predictImage, type ImagePrediction } from './predict';

/** One classified file. */
export interface FilePrediction extends ImagePrediction {
  file: string;
}

/**
 * How one image file is classified, e.g. `(file) => predictImage(classifier, file)`; a caller with another way
 * (test-time augmentation) passes its own. It must throw on a file it cannot read or decode.
 */
export type FilePredictor = (file: string) => Promise<ImagePrediction>;

/** The outcome of `classifyImageFiles`. */
export interface ClassifiedFiles {
  predictions: FilePrediction[];
  /** Files that could not be classified, and why: paths missing or not images first, then undecodable files. */
  skipped: SkippedFile[];
}

/**
 * Classifies every image named by `inputs` (files, or folders walked recursively) with `predict`. A file that
 * is not a sound PNG or JPEG, or fails to decode, is listed in `skipped` with the reason and the others go on; this
 * never throws for a bad file.
 */
export async function classifyImageFiles(inputs: string[], predict: FilePredictor): Promise<ClassifiedFiles> {
  const { files, skipped } = listImageFiles(inputs);
  const predictions: FilePrediction[] = [];
  for (const file of files) {
    // The structural check names the problem (not an image, truncated) better than a decoder's error does.
    const problem = imageFileProblem(file);
    if (problem) {
      skipped.push({ file, reason: problem });
      continue;
    }
    try {
      predictions.push({ file, ...(await predict(file)) });
    } catch (err) {
      skipped.push({ file, reason: (err as Error).message });
    }
  }
  return { predictions, skipped };
}

/**
 * Classifies `inputs` with the classifier saved in `classifierDir`, as an application would: load it from disk,
 * predict, dispose it before returning.
 */
export async function classifyFiles(classifierDir: string, inputs: string[]): Promise<ClassifiedFiles> {
  const classifier = await loadClassifier(classifierDir);
  try {
    return await classifyImageFiles(inputs, (file) => predictImage(classifier, file));
  } finally {
    classifier.model.dispose();
  }
}
