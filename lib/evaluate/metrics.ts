/** Classification metrics from predicted probabilities: accuracy, per-class precision/recall/F1, confusion, worst errors. */

/** Predicted probabilities of a labelled split (row-major `[count, numClasses]`). */
export interface PredictionSet {
  probs: Float32Array | number[];
  numClasses: number;
  labels: Int32Array | number[];
  classes: string[];
  /** Image files, same order (for the misclassified gallery). Optional. */
  files?: string[];
}

export interface ClassMetrics {
  className: string;
  /** Of the images predicted as this class, the fraction that are it (NaN-free: 0 when nothing was predicted). */
  precision: number;
  /** Of the images of this class, the fraction predicted as it. */
  recall: number;
  f1: number;
  /** Images of this class. */
  support: number;
}

/** One wrong prediction, with the probabilities of every class. */
export interface MisclassifiedExample {
  /** Index of the image in the split. */
  index: number;
  file?: string;
  trueLabel: number;
  trueClass: string;
  predictedLabel: number;
  predictedClass: string;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability of each class, in class order. */
  probs: number[];
}

export interface EvaluationReport {
  count: number;
  accuracy: number;
  /** Mean categorical cross-entropy of the true class (probabilities clipped at 1e-7). */
  loss: number;
  classes: string[];
  perClass: ClassMetrics[];
  macroF1: number;
  /** `confusion[t][p]`: images of true class t predicted as p. */
  confusion: number[][];
  /** The most confident mistakes first. */
  misclassified: MisclassifiedExample[];
  /** Predicted class index per image. */
  predicted: number[];
}

export interface EvaluateOptions {
  /** How many of the most confidently misclassified images to keep. Default 16. */
  topMisclassified?: number;
}

/** Computes every metric of an `EvaluationReport`. Throws on inconsistent sizes. */
export function evaluatePredictions(set: PredictionSet, options: EvaluateOptions = {}): EvaluationReport {
  const { probs, numClasses, labels, classes } = set;
  const n = labels.length;
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new Error(`evaluatePredictions: numClasses must be an integer >= 2, got ${numClasses}`);
  if (classes.length !== numClasses) throw new Error(`evaluatePredictions: ${classes.length} class names for ${numClasses} outputs`);
  if (probs.length !== n * numClasses) throw new Error(`evaluatePredictions: ${probs.length} probabilities for ${n} labels x ${numClasses} classes`);
  if (set.files && set.files.length !== n) throw new Error(`evaluatePredictions: ${set.files.length} files for ${n} labels`);
  if (!n) throw new Error('evaluatePredictions: no predictions');
  const confusion = classes.map(() => new Array<number>(numClasses).fill(0));
  const predicted: number[] = [];
  const wrong: MisclassifiedExample[] = [];
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < n; i++) {
    const t = labels[i];
    if (!(Number.isInteger(t) && t >= 0 && t < numClasses)) throw new Error(`evaluatePredictions: label ${t} of image ${i} is not a class index`);
    const row = Array.from({ length: numClasses }, (_, c) => Number(probs[i * numClasses + c]));
    let p = 0;
    for (let c = 1; c < numClasses; c++) if (row[c] > row[p]) p = c;
    predicted.push(p);
    confusion[t][p]++;
    lossSum -= Math.log(Math.min(1 - 1e-7, Math.max(1e-7, row[t])));
    if (p === t) correct++;
    else {
      wrong.push({ index: i, file: set.files?.[i], trueLabel: t, trueClass: classes[t], predictedLabel: p, predictedClass: classes[p], confidence: row[p], probs: row });
    }
  }
  const perClass = classes.map((className, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, r) => a + r[c], 0);
    const precision = predictedAs ? tp / predictedAs : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { className, precision, recall, f1, support };
  });
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return {
    count: n,
    accuracy: correct / n,
    loss: lossSum / n,
    classes: [...classes],
    perClass,
    macroF1: perClass.reduce((a, m) => a + m.f1, 0) / numClasses,
    confusion,
    misclassified: wrong.slice(0, options.topMisclassified ?? 16),
    predicted,
  };
}

/** A plain-text table of the per-class metrics and the accuracy, for terminals and logs. */
export function formatEvaluation(report: EvaluationReport): string {
  const w = Math.max(8, ...report.classes.map((c) => c.length));
  const lines = [`${'class'.padEnd(w)}  precision  recall  f1      support`];
  for (const m of report.perClass) {
    lines.push(`${m.className.padEnd(w)}  ${m.precision.toFixed(4).padStart(9)}  ${m.recall.toFixed(4)}  ${m.f1.toFixed(4)}  ${String(m.support).padStart(7)}`);
  }
  lines.push(`accuracy ${(report.accuracy * 100).toFixed(2)} % of ${report.count} images, macro F1 ${report.macroF1.toFixed(4)}, loss ${report.loss.toFixed(4)}`);
  return lines.join('\n');
}

/** The confusion matrix as plain text: a row per true class, a column per predicted class. */
export function formatConfusion(report: EvaluationReport): string {
  const corner = 'true \\ predicted';
  const first = Math.max(corner.length, ...report.classes.map((c) => c.length));
  const w = Math.max(...report.classes.map((c) => c.length), ...report.confusion.flat().map((v) => String(v).length));
  const head = `${corner.padEnd(first)}  ${report.classes.map((c) => c.padStart(w)).join('  ')}`;
  const rows = report.confusion.map((row, t) => `${report.classes[t].padEnd(first)}  ${row.map((v) => String(v).padStart(w)).join('  ')}`);
  return [head, ...rows].join('\n');
}
