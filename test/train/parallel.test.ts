/**
 * Data-parallel training steps (lib/train/parallel.ts): a batch split across this thread and a worker gives the
 * same trained weights as one thread (dropout 0, within 1e-4 relative error), the same seed gives the same
 * result twice, nothing leaks, and a worker's error reaches the caller with its message.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { shutdownWorkerPools } from '../../lib/engine/pool';
import { cutModelAt } from '../../lib/model/cut';
import { unfreezeFrom } from '../../lib/model/surgery';
import { FeatureBatchSource } from '../../lib/train/batches';
import { fitOnSource, type FitOptions } from '../../lib/train/loop';
import { batchSliceSizes, defaultTrainWorkers, DEFAULT_TRAIN_PARTS } from '../../lib/train/parallel';
import { resolveParameters } from '../../lib/experiment/parameters';
import { parseCliArgs } from '../../lib/cli/train';
import { createRng, derivedSeed } from '../../lib/util/random';
import { maxRelativeError, tinyClassifier, weightValues } from './helpers';

after(() => shutdownWorkerPools());

/** The suffix of a tiny classifier from block_15 (two blocks + Conv_1 + head trainable) and random activations at the cut. */
function fixture(dropout: number) {
  const { base, classifier } = tinyClassifier(32, 4, dropout);
  unfreezeFrom(classifier, base, { from: 'block_15' });
  const { prefix, suffix } = cutModelAt(classifier, 'block_14_add');
  prefix.dispose();
  const sampleShape = suffix.inputs[0].shape.slice(1) as number[];
  const count = 20;
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const rng = createRng(9);
  const view = Float32Array.from({ length: count * per }, () => rng.normal());
  const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
  const source = new FeatureBatchSource({ views: [view], sampleShape, labels }, 0);
  const dispose = () => {
    suffix.dispose();
    classifier.dispose();
    base.model.dispose();
  };
  return { suffix, classifier, source, view, sampleShape, dispose };
}

const fit = (trainWorkers: number): FitOptions => ({
  phase: 'fine-tune',
  epochs: 2,
  batchSize: 7,
  learningRate: 1e-3,
  optimizer: 'adam',
  seed: 5,
  trainWorkers,
});

async function train(dropout: number, trainWorkers: number, extra: Partial<FitOptions> = {}) {
  const f = fixture(dropout);
  const start = weightValues(f.classifier);
  const tensors = tf.memory().numTensors;
  const result = await fitOnSource(f.suffix, { source: f.source }, { ...fit(trainWorkers), ...extra });
  assert.equal(tf.memory().numTensors, tensors, `fitOnSource with ${trainWorkers} part(s) leaked tensors`);
  const weights = weightValues(f.classifier);
  f.dispose();
  return { start, weights, result };
}

test('batchSliceSizes splits contiguously and drops empty parts', () => {
  assert.deepEqual(batchSliceSizes(7, 2), [4, 3]);
  assert.deepEqual(batchSliceSizes(32, 2), [16, 16]);
  assert.deepEqual(batchSliceSizes(1, 2), [1]);
  assert.deepEqual(batchSliceSizes(5, 3), [2, 2, 1]);
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`2 parts = 1 part within 1e-4 with dropout 0 (${backend})`, async () => {
    await initEngine({ engine: backend, quiet: true });
    const one = await train(0, 1);
    const two = await train(0, 2);
    assert.ok(maxRelativeError(one.weights, one.start) > 1e-3, 'training changed nothing');
    const err = maxRelativeError(two.weights, one.weights);
    assert.ok(err < 1e-4, `relative error ${err}`);
    // Odd batch sizes (7 = 4 + 3, last batch 6 = 3 + 3) still give the batch-mean loss and the same accuracy.
    one.result.records.forEach((r, i) => {
      const p = two.result.records[i];
      assert.ok(Math.abs(r.loss - p.loss) < 1e-5 * Math.max(1, r.loss), `epoch ${r.epoch}: loss ${p.loss} vs ${r.loss}`);
      assert.equal(p.accuracy, r.accuracy);
    });
  });
}

test('2 parts with dropout: the same seed gives identical weights, and masks are not the one-part masks', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const a = await train(0.5, 2);
  const b = await train(0.5, 2);
  const single = await train(0.5, 1);
  assert.equal(maxRelativeError(a.weights, b.weights), 0);
  assert.deepEqual(a.result.records.map((r) => r.loss), b.result.records.map((r) => r.loss));
  assert.ok(maxRelativeError(a.weights, single.weights) > 1e-4, 'per-slice dropout seeds should differ from the one-part run');
});

test('label smoothing reaches the workers: 2 parts = 1 part within 1e-4, and both differ from no smoothing', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const smooth = { labelSmoothing: 0.3, epochs: 1 };
  const one = await train(0, 1, smooth);
  const two = await train(0, 2, smooth);
  const plain = await train(0, 1, { epochs: 1 });
  const err = maxRelativeError(two.weights, one.weights);
  assert.ok(err < 1e-4, `relative error ${err}`);
  assert.ok(Math.abs(two.result.records[0].loss - one.result.records[0].loss) < 1e-5 * one.result.records[0].loss);
  assert.ok(maxRelativeError(one.weights, plain.weights) > 1e-4, 'smoothing changed nothing');
});

test("non-finite outputs in a worker's slice stop training as in one thread", async () => {
  // cpu: wasm's ReLU6 clamps NaN into [0, 6], so a NaN input never reaches the outputs there.
  await initEngine({ engine: 'cpu', quiet: true });
  const run = async (trainWorkers: number) => {
    const f = fixture(0);
    const start = weightValues(f.classifier);
    // The first batch's 6th sample falls in the second slice (7 = 4 + 3): make its input NaN.
    const seed = fit(trainWorkers).seed;
    const victim = createRng(derivedSeed(seed, 'order:1')).shuffled(Array.from({ length: f.source.count }, (_, i) => i))[5];
    const x = f.source.batch([victim], 0);
    const per = x.size;
    x.dispose();
    const broken = new FeatureBatchSource({ views: [f.view.map((v, i) => (Math.floor(i / per) === victim ? NaN : v))], sampleShape: f.sampleShape, labels: f.source.labels }, 0);
    const tensors = tf.memory().numTensors;
    const result = await fitOnSource(f.suffix, { source: broken }, fit(trainWorkers));
    assert.equal(tf.memory().numTensors, tensors);
    const weights = weightValues(f.classifier);
    f.dispose();
    return { result, start, weights };
  };
  for (const parts of [1, 2]) {
    const { result, start, weights } = await run(parts);
    assert.equal(result.stopReason, 'non-finite-loss');
    assert.match(result.message!, /outputs became non-finite .* at epoch 1, batch 1;/, `${parts} part(s)`);
    assert.deepEqual(weights, start);
  }
});

test("a worker's error surfaces with its message", async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  // A layer class registered only in this thread: the worker cannot rebuild the model.
  class OnlyHereScale extends tf.layers.Layer {
    static className = 'OnlyHereScale';
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 2);
    }
  }
  tf.serialization.registerClass(OnlyHereScale);
  const input = tf.input({ shape: [4] });
  const scaled = new OnlyHereScale({}).apply(input) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(scaled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  const source = new FeatureBatchSource({ views: [new Float32Array(8 * 4).fill(0.5)], sampleShape: [4], labels: new Int32Array(8) }, 0);
  const tensors = tf.memory().numTensors;
  await assert.rejects(fitOnSource(model, { source }, { ...fit(2), epochs: 1 }), /worker 1 could not load model .*OnlyHereScale/);
  assert.equal(tf.memory().numTensors, tensors);
  model.dispose();
});

test('defaults, option checks, and models that cannot be split', async () => {
  assert.equal(parseCliArgs(['--train-workers', '2'], {}).parameters.values.trainWorkers, 2);
  assert.throws(() => parseCliArgs(['--train-workers', '0'], {}), /--train-workers/);
  assert.throws(() => resolveParameters([{ from: 'options', values: { trainWorkers: 1.5 } }]), /trainWorkers \(options\): expected an integer >= 1/);

  const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 2, kernelSize: 1 }), tf.layers.flatten(), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 3, activation: 'softmax' })] });
  await initEngine({ engine: 'wasm', quiet: true });
  assert.equal(defaultTrainWorkers(conv), DEFAULT_TRAIN_PARTS);
  assert.equal(defaultTrainWorkers(head), 1);
  await initEngine({ engine: 'cpu', quiet: true });
  assert.equal(defaultTrainWorkers(conv), DEFAULT_TRAIN_PARTS);
  assert.equal(defaultTrainWorkers(head), 1);
  conv.dispose();
  head.dispose();

  await initEngine({ engine: 'wasm', quiet: true });
  const source = new FeatureBatchSource({ views: [Float32Array.from({ length: 8 * 32 }, (_, i) => (i % 5) / 5)], sampleShape: [4, 4, 2], labels: Int32Array.from({ length: 8 }, (_, i) => i % 3) }, 0);
  const bnModel = tf.sequential({ layers: [tf.layers.batchNormalization({ inputShape: [4, 4, 2] }), tf.layers.flatten(), tf.layers.dense({ units: 3, activation: 'softmax' })] });
  await assert.rejects(fitOnSource(bnModel, { source }, { ...fit(0), epochs: 1 }), /trainWorkers: expected an integer >= 1, got 0/);
  // Unguarded BN uses batch statistics, so samples interact: it trains in one thread and says so.
  const messages: string[] = [];
  const r = await fitOnSource(bnModel, { source }, { ...fit(2), epochs: 1, callbacks: { onMessage: (m) => messages.push(m) } });
  assert.equal(r.stopReason, 'completed');
  assert.ok(messages.some((m) => /training in one thread: BatchNormalization layer .* batch statistics/.test(m)), messages.join('\n'));
  bnModel.dispose();
});
