/**
 * The guard of the training loop (lib/train/guard.ts, loop.ts): weights count as good only when the model's
 * outputs on real inputs are finite. A far too high learning rate (huge but finite weights whose outputs are NaN)
 * stops training, and the model then holds the last weights verified at an epoch's end, with finite outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { FeatureBatchSource } from '../../lib/train/batches';
import { fitOnSource, outputsFinite, type FitOptions } from '../../lib/train/loop';
import { createRng } from '../../lib/util/random';

/** Two dense layers, so that a huge update of both multiplies into an overflow. */
function mlp(dim: number, classes = 3): tf.LayersModel {
  const input = tf.input({ shape: [dim] });
  const h = tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function features(n: number, dim: number, seed: number) {
  const rng = createRng(seed);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let d = 0; d < dim; d++) data[i * dim + d] = rng.normal() * 0.3 + (d === i % 3 ? 2 : 0);
  }
  return { views: [data], sampleShape: [dim], labels };
}

const values = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

/** Whether every output of `model` on all samples of `source` is finite, read directly (independent of the library's check). */
function predictedFinite(model: tf.LayersModel, source: FeatureBatchSource): boolean {
  return tf.tidy(() => {
    const x = source.batch(Array.from({ length: source.count }, (_, i) => i), 0);
    return Array.from((model.predict(x) as tf.Tensor).dataSync()).every(Number.isFinite);
  });
}

for (const [optimizer, learningRate, withValidation] of [
  ['sgd', 1e30, false],
  ['rmsprop', 1e20, true],
] as const) {
  test(`${optimizer} at lr ${learningRate}: a non-finite stop, and the model keeps weights with finite outputs (${withValidation ? 'validation' : 'probe batch'})`, async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    const model = mlp(4);
    const train = new FeatureBatchSource(features(40, 4, 5));
    const validation = new FeatureBatchSource(features(15, 4, 6));
    const before = tf.memory().numTensors;
    const options: FitOptions = { phase: 'head', epochs: 4, batchSize: 8, learningRate, optimizer, seed: 1 };
    const result = await fitOnSource(model, { source: train }, withValidation ? { ...options, validation: { source: validation } } : options);
    assert.equal(result.stopReason, 'non-finite-loss');
    assert.match(result.message!, /training stopped.*the weights it started with/);
    assert.equal(result.weightsEpoch, 0);
    assert.ok(predictedFinite(model, train) && predictedFinite(model, validation), 'the kept weights give non-finite outputs');
    assert.equal(await outputsFinite(model, { source: validation }), true);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}

test('a failure in a later epoch puts back the weights of the last epoch verified good, and says which', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = mlp(4);
  const perEpoch = new Map<number, number[][]>();
  const result = await fitOnSource(model, { source: new FeatureBatchSource(features(40, 4, 5)) }, {
    phase: 'fine-tune',
    firstEpoch: 4,
    epochs: 5,
    batchSize: 8,
    learningRate: 0.05,
    optimizer: 'sgd',
    seed: 1,
    // Two sane epochs, then an update far too large.
    schedule: { kind: 'step', every: 2, factor: 1e31 },
    validation: { source: new FeatureBatchSource(features(15, 4, 6)) },
    callbacks: { onEpochEnd: (r) => perEpoch.set(r.epoch, values(model)) },
  });
  assert.equal(result.stopReason, 'non-finite-loss');
  assert.equal(result.weightsEpoch, 5);
  assert.match(result.message!, /at epoch 6.*the model keeps the last good weights: those of epoch 5/);
  assert.deepEqual(values(model), perEpoch.get(5));
  assert.ok(predictedFinite(model, new FeatureBatchSource(features(15, 4, 6))));
  // The failed epoch's record has no validation values: the weights it ended with are gone.
  const last = result.records[result.records.length - 1];
  assert.ok(last.epoch < 6 || last.valLoss === undefined);
  model.dispose();
});

test('non-finite validation outputs at an epoch end stop training as well', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = mlp(4);
  const start = values(model);
  const val = features(15, 4, 6);
  val.views[0][3 * 4 + 1] = Infinity;
  const result = await fitOnSource(model, { source: new FeatureBatchSource(features(40, 4, 5)) }, {
    phase: 'head', epochs: 3, batchSize: 8, learningRate: 0.01, seed: 1, validation: { source: new FeatureBatchSource(val) },
  });
  assert.equal(result.stopReason, 'non-finite-loss');
  assert.match(result.message!, /outputs on the validation samples.*after epoch 1/);
  assert.equal(result.weightsEpoch, 0);
  assert.deepEqual(values(model), start);
  assert.equal(result.records.length, 1);
  assert.equal(result.records[0].valLoss, undefined);
  model.dispose();
});

test('outputsFinite: true for sane weights, false once a weight is NaN; nothing leaks', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const model = mlp(4);
  const subset = { source: new FeatureBatchSource(features(20, 4, 7)), indices: [0, 5, 9] };
  const before = tf.memory().numTensors;
  assert.equal(await outputsFinite(model, subset), true);
  const out = model.layers[2];
  const nan = tf.fill(out.getWeights()[0].shape, NaN);
  out.setWeights([nan, out.getWeights()[1]]);
  nan.dispose();
  assert.equal(await outputsFinite(model, subset, 2), false);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
