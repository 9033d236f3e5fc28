/** The training loop's guards and hooks: early stopping with best weights, NaN/Inf stop, schedules, progress, no leaks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { FeatureBatchSource } from '../../lib/train/batches';
import { crossEntropyLoss } from '../../lib/train/loss';
import { evaluateOnSource, fitOnSource } from '../../lib/train/loop';
import { createProgressCallbacks } from '../../lib/train/progress';
import { parseLrSchedule, scheduledLearningRate } from '../../lib/train/schedule';
import { createRng } from '../../lib/util/random';

/** A softmax-regression model over `dim` features. */
function denseModel(dim: number, classes = 3): tf.LayersModel {
  const input = tf.input({ shape: [dim] });
  const out = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Separable features: class c has a bump on dimension c. `flip` relabels (for a validation set that disagrees). */
function features(n: number, dim: number, seed: number, flip = false) {
  const rng = createRng(seed);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = flip ? (c + 1) % 3 : c;
    for (let d = 0; d < dim; d++) data[i * dim + d] = rng.normal() * 0.3 + (d === c ? 2 : 0);
  }
  return { views: [data], sampleShape: [dim], labels };
}

const values = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('early stopping stops on a rising val_loss and restores the best epoch', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = denseModel(6);
  const before = tf.memory().numTensors;
  const perEpoch = new Map<number, number[][]>();
  const messages: string[] = [];
  const result = await fitOnSource(model, { source: new FeatureBatchSource(features(60, 6, 1)) }, {
    phase: 'head',
    epochs: 20,
    batchSize: 10,
    learningRate: 0.05,
    seed: 3,
    // A validation set whose labels are shifted: the better the model learns, the worse val_loss gets.
    validation: { source: new FeatureBatchSource(features(30, 6, 2, true)) },
    earlyStopping: { patience: 2 },
    callbacks: { onEpochEnd: (r) => perEpoch.set(r.epoch, values(model)), onMessage: (m) => messages.push(m) },
  });
  assert.equal(result.stopReason, 'early-stopping');
  assert.ok(result.records.length < 20 && result.records.length >= 3, `${result.records.length} epochs`);
  const best = result.records.reduce((a, r) => (r.valLoss! < a.valLoss! ? r : a));
  assert.equal(result.restoredEpoch, best.epoch);
  assert.deepEqual(values(model), perEpoch.get(best.epoch));
  assert.notDeepEqual(values(model), perEpoch.get(result.records[result.records.length - 1].epoch));
  assert.ok(messages.some((m) => /early stopping/.test(m)) && messages.some((m) => /restored/.test(m)));
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('a NaN in the data stops training and keeps the last good weights', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = denseModel(4);
  const f = features(40, 4, 5);
  f.views[0][17 * 4 + 2] = NaN;
  const before = tf.memory().numTensors;
  const start = values(model);
  let steps = 0;
  const result = await fitOnSource(model, { source: new FeatureBatchSource(f) }, {
    phase: 'head',
    epochs: 3,
    batchSize: 8,
    learningRate: 0.01,
    seed: 1,
    callbacks: { onBatchEnd: () => steps++ },
  });
  assert.equal(result.stopReason, 'non-finite-loss');
  assert.match(result.message!, /outputs became non-finite.*at epoch 1.*last good weights: the weights it started with/);
  // Every epoch meets the NaN sample, so no epoch's weights were verified: the model is back at its start.
  assert.ok(steps > 0, 'the NaN sample came first; the test needs steps before it');
  assert.equal(result.weightsEpoch, 0);
  assert.deepEqual(values(model), start);
  assert.ok(values(model).flat().every(Number.isFinite));
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('an exploding learning rate is caught as a non-finite loss', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = denseModel(4);
  const f = features(40, 4, 5);
  const start = values(model);
  // 1e39 overflows float32: the first update would make the weights infinite.
  const result = await fitOnSource(model, { source: new FeatureBatchSource(f) }, { phase: 'head', epochs: 5, batchSize: 8, learningRate: 1e39, optimizer: 'sgd', seed: 1 });
  assert.equal(result.stopReason, 'non-finite-loss');
  assert.match(result.message!, /weights non-finite/);
  assert.deepEqual(values(model), start);
  assert.ok(values(model).flat().every(Number.isFinite));
  model.dispose();
});

test('schedules: step and cosine rates per epoch, recorded in the history', async () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((e) => scheduledLearningRate(1, e, 5, { kind: 'step', every: 2, factor: 0.1 })).map((x) => +x.toFixed(6)), [1, 1, 0.1, 0.1, 0.01]);
  const cos = [0, 1, 2].map((e) => scheduledLearningRate(2, e, 3, { kind: 'cosine' }));
  assert.deepEqual(cos.map((x) => +x.toFixed(6)), [2, 1, 0]);
  assert.deepEqual(parseLrSchedule('step:3:0.5'), { kind: 'step', every: 3, factor: 0.5 });
  assert.deepEqual(parseLrSchedule('cosine'), { kind: 'cosine', minFactor: undefined });
  assert.throws(() => parseLrSchedule('linear'), /expected constant, step/);
  assert.throws(() => scheduledLearningRate(1, 0, 3, { kind: 'step', every: 0 }), /schedule.every/);
  await initEngine({ engine: 'wasm', quiet: true });
  const model = denseModel(3);
  const r = await fitOnSource(model, { source: new FeatureBatchSource(features(12, 3, 1)) }, {
    phase: 'head', epochs: 3, batchSize: 6, learningRate: 0.1, seed: 0, schedule: { kind: 'step', every: 1, factor: 0.5 },
  });
  assert.deepEqual(r.records.map((x) => x.lr), [0.1, 0.05, 0.025]);
  model.dispose();
});

test('every optimizer follows the schedule (sgd too)', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  for (const optimizer of ['adam', 'rmsprop', 'sgd'] as const) {
    const model = denseModel(3);
    const perEpoch: number[][][] = [];
    // The second epoch's rate is far too small to move a float32 weight of this size.
    await fitOnSource(model, { source: new FeatureBatchSource(features(12, 3, 1)) }, {
      phase: 'head', epochs: 2, batchSize: 6, learningRate: 0.1, optimizer, seed: 0, schedule: { kind: 'step', every: 1, factor: 1e-30 },
      callbacks: { onEpochEnd: () => perEpoch.push(values(model)) },
    });
    assert.deepEqual(perEpoch[1], perEpoch[0], `${optimizer} ignored the schedule`);
    model.dispose();
  }
});

test('label smoothing: the training loss is the smoothed one, the validation loss stays plain cross-entropy', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const train = new FeatureBatchSource(features(30, 3, 1));
  const validation = { source: new FeatureBatchSource(features(9, 3, 2)) };
  const lossAt = (model: tf.LayersModel, a: number) =>
    tf.tidy(() => {
      const all = Array.from({ length: train.count }, (_, i) => i);
      return crossEntropyLoss(model.predict(train.batch(all, 0)) as tf.Tensor, tf.tensor1d(train.labels, 'int32'), 3, a).dataSync()[0];
    });
  const model = denseModel(3);
  const expected = lossAt(model, 0.2);
  assert.ok(Math.abs(expected - lossAt(model, 0)) > 1e-3, 'smoothing should change the loss of this model');
  // One step over the whole set: the reported loss is the smoothed loss of the initial weights.
  const opts = { phase: 'head' as const, epochs: 1, batchSize: 30, learningRate: 0.1, seed: 0, validation };
  const r = await fitOnSource(model, { source: train }, { ...opts, labelSmoothing: 0.2 });
  assert.ok(Math.abs(r.records[0].loss - expected) < 1e-6, `${r.records[0].loss} vs ${expected}`);
  assert.equal(r.records[0].valLoss, (await evaluateOnSource(model, validation, 3, 64)).loss);
  model.dispose();
  // labelSmoothing 0 is today's training, number for number.
  const [m0, m1] = [denseModel(3), denseModel(3)];
  const plain = await fitOnSource(m0, { source: train }, { ...opts, epochs: 2, batchSize: 7 });
  const zero = await fitOnSource(m1, { source: train }, { ...opts, epochs: 2, batchSize: 7, labelSmoothing: 0 });
  assert.deepEqual(zero.records.map(({ seconds: _s, ...x }) => x), plain.records.map(({ seconds: _s, ...x }) => x));
  assert.deepEqual(values(m1), values(m0));
  m0.dispose();
  m1.dispose();
  const m2 = denseModel(3);
  await assert.rejects(fitOnSource(m2, { source: train }, { ...opts, labelSmoothing: 1 }), /labelSmoothing: expected a number in \[0, 1\)/);
  m2.dispose();
});

test('progress: one line per epoch for notebooks, a rewritten status line in a terminal', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = denseModel(3);
  const run = async (mode: 'lines' | 'terminal') => {
    let out = '';
    await fitOnSource(model, { source: new FeatureBatchSource(features(30, 3, 1)) }, {
      phase: 'fine-tune', epochs: 2, batchSize: 5, learningRate: 0.01, seed: 0, firstEpoch: 4,
      validation: { source: new FeatureBatchSource(features(9, 3, 2)) },
      callbacks: createProgressCallbacks({ mode, write: (t) => (out += t) }),
    });
    return out;
  };
  const lines = await run('lines');
  assert.doesNotMatch(lines, /\r/);
  const epochLines = lines.split('\n').filter((l) => /^\[fine-tune\] epoch/.test(l));
  assert.equal(epochLines.length, 2);
  assert.match(epochLines[0], /epoch 4 \(1\/2\).*loss \d\.\d{4} - acc \d\.\d{4} - val_loss .* - lr 1\.00e-2 - \d+s left/);
  let extractOut = '';
  const cbs = createProgressCallbacks({ mode: 'terminal', write: (t) => (extractOut += t) });
  cbs.onExtractProgress!({ label: 'head_pool train', done: 64, total: 64 });
  cbs.onMessage!('computed activations');
  assert.equal(extractOut, '\r\x1b[2Kcomputing activations at head_pool train: 64/64 images\r\x1b[2Kcomputed activations\n');
  const term = await run('terminal');
  assert.match(term, /\r\x1b\[2K\[fine-tune\] epoch 1\/2 batch \d+\/6 - loss/);
  model.dispose();
});

test('bad options are refused with the parameter name', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = denseModel(3);
  const src = { source: new FeatureBatchSource(features(6, 3, 1)) };
  await assert.rejects(fitOnSource(model, src, { phase: 'head', epochs: 0, batchSize: 2, learningRate: 0.1, seed: 0 }), /epochs: expected an integer >= 1/);
  await assert.rejects(fitOnSource(model, src, { phase: 'head', epochs: 1, batchSize: 2, learningRate: -1, seed: 0 }), /learningRate/);
  model.layers.forEach((l) => (l.trainable = false));
  await assert.rejects(fitOnSource(model, src, { phase: 'head', epochs: 1, batchSize: 2, learningRate: 0.1, seed: 0 }), /no trainable weights/);
  model.dispose();
});
