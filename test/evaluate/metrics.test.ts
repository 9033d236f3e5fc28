/** Metrics on hand-checked predictions, and the evaluation and training figures built from them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePredictions, formatEvaluation } from '../../lib/evaluate/metrics';
import { confusionMatrixFigure, misclassifiedGalleryFigure } from '../../lib/report/figures/evaluation';
import { trainingCurvesFigure } from '../../lib/report/figures/training';
import type { TrainingHistory } from '../../lib/train/types';

const classes = ['rock', 'paper', 'scissors'];
// 6 images: true labels and probabilities chosen by hand.
const labels = [0, 0, 1, 1, 2, 2];
const probs = [
  0.8, 0.1, 0.1, // rock -> rock
  0.2, 0.7, 0.1, // rock -> paper (0.7)
  0.1, 0.8, 0.1, // paper -> paper
  0.05, 0.05, 0.9, // paper -> scissors (0.9)
  0.1, 0.1, 0.8, // scissors -> scissors
  0.3, 0.3, 0.4, // scissors -> scissors
];
const files = labels.map((l, i) => `/x/${classes[l]}/${i}.png`);

test('accuracy, precision, recall, F1, confusion matrix and the most confident mistakes', () => {
  const r = evaluatePredictions({ probs, numClasses: 3, labels, classes, files });
  assert.equal(r.accuracy, 4 / 6);
  assert.deepEqual(r.confusion, [
    [1, 1, 0],
    [0, 1, 1],
    [0, 0, 2],
  ]);
  assert.deepEqual(r.predicted, [0, 1, 1, 2, 2, 2]);
  const [rock, paper, scissors] = r.perClass;
  assert.deepEqual([rock.precision, rock.recall, rock.support], [1, 0.5, 2]);
  assert.deepEqual([paper.precision, paper.recall], [0.5, 0.5]);
  assert.deepEqual([scissors.precision, scissors.recall], [2 / 3, 1]);
  assert.ok(Math.abs(scissors.f1 - 0.8) < 1e-12);
  assert.ok(Math.abs(r.macroF1 - (2 / 3 + 0.5 + 0.8) / 3) < 1e-12);
  const expectedLoss = -(Math.log(0.8) + Math.log(0.2) + Math.log(0.8) + Math.log(0.05) + Math.log(0.8) + Math.log(0.4)) / 6;
  assert.ok(Math.abs(r.loss - expectedLoss) < 1e-6);
  assert.deepEqual(
    r.misclassified.map((m) => [m.index, m.trueClass, m.predictedClass, m.file]),
    [
      [3, 'paper', 'scissors', '/x/paper/3.png'],
      [1, 'rock', 'paper', '/x/rock/1.png'],
    ],
  );
  assert.ok(Math.abs(r.misclassified[0].confidence - 0.9) < 1e-12);
  assert.deepEqual(r.misclassified[1].probs, [0.2, 0.7, 0.1]);
  assert.equal(evaluatePredictions({ probs, numClasses: 3, labels, classes }, { topMisclassified: 1 }).misclassified.length, 1);
  assert.match(formatEvaluation(r), /scissors\s+0\.6667\s+1\.0000\s+0\.8000\s+2\naccuracy 66\.67 %/);
});

test('inconsistent input is refused with what was expected', () => {
  assert.throws(() => evaluatePredictions({ probs: [0.5, 0.5], numClasses: 3, labels: [0], classes }), /3 probabilities|2 probabilities for 1 labels x 3 classes/);
  assert.throws(() => evaluatePredictions({ probs, numClasses: 3, labels, classes: ['a', 'b'] }), /2 class names for 3 outputs/);
  assert.throws(() => evaluatePredictions({ probs: [0, 0, 1], numClasses: 3, labels: [5], classes }), /label 5 of image 0/);
});

test('confusion heatmap and misclassified gallery figures', () => {
  const r = evaluatePredictions({ probs, numClasses: 3, labels, classes, files });
  const cm = confusionMatrixFigure(r);
  assert.equal(cm.data[0].type, 'heatmap');
  assert.deepEqual(cm.data[0].z, r.confusion);
  assert.equal((cm.layout.annotations as unknown[]).length, 9);
  assert.match(JSON.stringify(cm.layout.title), /66\.7 %/);
  const size = 4;
  const items = r.misclassified.map((example) => ({ example, pixels: new Uint8Array(size * size * 3).fill(example.index * 20), size }));
  const g = misclassifiedGalleryFigure(items, { columns: 2 });
  assert.equal(g.data.length, 2);
  assert.equal(g.data[0].type, 'image');
  assert.match(String(g.data[0].source), /^data:image\/png;base64,iVBOR/);
  assert.equal(g.data[1].xaxis, 'x2');
  assert.ok(g.layout.xaxis2 && g.layout.yaxis2);
  assert.match(JSON.stringify(g.layout.annotations), /paper → scissors/);
  assert.equal(misclassifiedGalleryFigure([]).data.length, 0);
  assert.throws(() => misclassifiedGalleryFigure([{ ...items[0], size: 5 }]), /expected 5x5x3/);
});

test('training curves show both phases and mark where fine-tuning began', () => {
  const rec = (epoch: number, phase: 'head' | 'fine-tune') => ({ epoch, phase, loss: 1 / epoch, accuracy: epoch / 10, valLoss: 1.1 / epoch, valAccuracy: epoch / 11, lr: 1e-3, seconds: 1 });
  const history: TrainingHistory = { records: [rec(1, 'head'), rec(2, 'head'), rec(3, 'fine-tune'), rec(4, 'fine-tune')], fineTuneStartEpoch: 3 };
  const f = trainingCurvesFigure(history);
  assert.deepEqual(f.data.map((d) => d.name), ['training accuracy', 'validation accuracy', 'training loss', 'validation loss']);
  assert.deepEqual(f.data[0].x, [1, 2, 3, 4]);
  assert.deepEqual(f.data[3].y, [1.1, 0.55, 1.1 / 3, 0.275]);
  const shapes = f.layout.shapes as { x0: number }[];
  assert.equal(shapes.length, 2);
  assert.equal(shapes[0].x0, 2.5);
  assert.match(JSON.stringify(f.layout.annotations), /fine-tuning starts/);
  const headOnly = trainingCurvesFigure({ records: history.records.slice(0, 2), fineTuneStartEpoch: null });
  assert.equal((headOnly.layout.shapes as unknown[]).length, 0);
  assert.throws(() => trainingCurvesFigure({ records: [], fineTuneStartEpoch: null }), /no epochs/);
});
