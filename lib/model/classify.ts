/** Classifying image files with a saved classifier, as an application would: load from disk, predict, dispose. */
import { loadClassifier } from './persist';
import { predictImage, type ImagePrediction } from './predict';

/** One prediction per file, in order. Loads the classifier from `classifierDir` and frees it before returning. */
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
