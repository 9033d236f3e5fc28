import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { extractFeatures, shutdownExtractionWorkers, FeatureInput } from '../../lib/train/extract';
import { cutModelAt } from '../../lib/model/cut';

before(async () => {
  await initEngine({ engine: 'wasm', quiet: true });
});
after(async () => {
  await shutdownExtractionWorkers();
});

const SIZE = 12;

/** conv+BN+ReLU6, stride-2 padding, depthwise+BN+ReLU6, 1x1 projection + BN with a residual Add. */
function tinyBase(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  const input = tf.input({ shape: [SIZE, SIZE, 3], name: 'img' });
  let x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, kernelInitializer: init(1) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  let h = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, kernelInitializer: init(3) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  x = tf.layers.add().apply([x, h]) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x });
  let s = seed * 100;
  for (const l of m.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const fresh = l.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, 1.5, 'float32', s++));
    l.setWeights(fresh);
    tf.dispose(fresh);
  }
  return m;
}

function pixels(count: number, seed: number, shared = false): FeatureInput {
  const bytes = count * SIZE * SIZE * 3;
  const px = shared ? new Uint8Array(new SharedArrayBuffer(bytes)) : new Uint8Array(bytes);
  let v = seed >>> 0;
  for (let i = 0; i < px.length; i++) {
    v = (Math.imul(v, 1664525) + 1013904223) >>> 0;
    px[i] = v >>> 24;
  }
  return { pixels: px, count, size: SIZE, range: [-1, 1] };
}

/** model.predict on the scaled images, one image at a time (the reference for order and values). */
function reference(model: tf.LayersModel, input: FeatureInput): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(input.pixels), [input.count, SIZE, SIZE, 3]).mul(2 / 255).add(-1);
    const outs = tf.split(x, input.count).map((xi) => model.predict(xi) as tf.Tensor);
    return tf.concat(outs).dataSync() as Float32Array;
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('in-process extraction: original order, values of model.predict, progress, no leaks', async () => {
  const model = tinyBase(1);
  const input = pixels(19, 1);
  const want = reference(model, input);
  const progress: number[] = [];
  const before = tf.memory().numTensors;
  const plain = await extractFeatures(model, input, { workers: 1, fold: false, batchSize: 4, onProgress: (d, t) => { assert.equal(t, 19); progress.push(d); } });
  assert.deepEqual(plain.shape, [19, 6, 6, 8]);
  assert.deepEqual(progress, [4, 8, 12, 16, 19]);
  assert.ok(maxAbsDiff(plain.data, want) < 1e-5);
  const folded = await extractFeatures(model, input, { workers: 1, batchSize: 4 });
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0.1);
  assert.ok(maxAbsDiff(folded.data, want) / scale < 1e-4);
  // One batch of 19: forward passes of 8, 8 and 3 images inside it.
  const whole = await extractFeatures(model, input, { workers: 1, batchSize: 19, fold: false });
  assert.ok(maxAbsDiff(whole.data, want) < 1e-5);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('worker threads give the same numbers as one thread, in order, with progress', async () => {
  const model = tinyBase(2);
  const input = pixels(23, 2);
  const one = await extractFeatures(model, input, { workers: 1, batchSize: 4 });
  const progress: number[] = [];
  const before = tf.memory().numTensors;
  const two = await extractFeatures(model, input, { workers: 2, batchSize: 4, onProgress: (d) => progress.push(d) });
  assert.deepEqual(two.shape, one.shape);
  assert.equal(maxAbsDiff(two.data, one.data), 0);
  assert.equal(progress.length, 6);
  assert.equal(progress[progress.length - 1], 23);
  assert.ok(progress.every((d, i) => i === 0 || d > progress[i - 1]));
  // Unfolded in the workers too, and pixels in shared memory.
  const sharedInput = pixels(23, 2, true);
  const plainOne = await extractFeatures(model, sharedInput, { workers: 1, batchSize: 5, fold: false });
  const plainTwo = await extractFeatures(model, sharedInput, { workers: 2, batchSize: 5, fold: false });
  assert.equal(maxAbsDiff(plainTwo.data, plainOne.data), 0);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('workers pick up changed weights and a different model', async () => {
  const model = tinyBase(3);
  const input = pixels(9, 3);
  const first = await extractFeatures(model, input, { workers: 2, batchSize: 2 });
  const conv = model.layers.find((l) => l.getClassName() === 'Conv2D')!;
  const [k] = conv.getWeights();
  const doubled = k.mul(2);
  conv.setWeights([doubled]);
  doubled.dispose();
  const again = await extractFeatures(model, input, { workers: 2, batchSize: 2 });
  const inProcess = await extractFeatures(model, input, { workers: 1, batchSize: 2 });
  assert.ok(maxAbsDiff(again.data, first.data) > 1e-3);
  assert.equal(maxAbsDiff(again.data, inProcess.data), 0);
  const other = tinyBase(4);
  const o2 = await extractFeatures(other, input, { workers: 2, batchSize: 2 });
  const o1 = await extractFeatures(other, input, { workers: 1, batchSize: 2 });
  assert.equal(maxAbsDiff(o2.data, o1.data), 0);
  model.dispose();
  other.dispose();
});

test('concurrent calls on the pool each get their own results', async () => {
  const a = tinyBase(5);
  const b = tinyBase(6);
  const input = pixels(10, 5);
  const [ra, rb] = await Promise.all([
    extractFeatures(a, input, { workers: 2, batchSize: 3 }),
    extractFeatures(b, input, { workers: 2, batchSize: 3 }),
  ]);
  assert.equal(maxAbsDiff(ra.data, (await extractFeatures(a, input, { workers: 1, batchSize: 3 })).data), 0);
  assert.equal(maxAbsDiff(rb.data, (await extractFeatures(b, input, { workers: 1, batchSize: 3 })).data), 0);
  a.dispose();
  b.dispose();
});

test('bad input is refused naming the parameter; an empty set gives an empty result', async () => {
  const model = tinyBase(7);
  const input = pixels(2, 7);
  await assert.rejects(extractFeatures(model, { ...input, count: 3 }), /input.pixels has 864 bytes, expected count\*size\*size\*3 = 1296/);
  await assert.rejects(extractFeatures(model, { ...input, size: 10, count: 2 }), /input.pixels/);
  await assert.rejects(extractFeatures(model, { ...input, range: [0, NaN] }), /input.range/);
  await assert.rejects(extractFeatures(model, input, { batchSize: 0 }), /batchSize/);
  await assert.rejects(extractFeatures(model, input, { workers: 1.5 }), /workers/);
  const empty = await extractFeatures(model, { pixels: new Uint8Array(0), count: 0, size: SIZE, range: [0, 1] });
  assert.deepEqual(empty.shape, [0, 6, 6, 8]);
  assert.equal(empty.data.length, 0);
  model.dispose();
});

test('a pass continued from cached activations of an inner layer equals the whole pass, in this thread and in workers', async () => {
  const model = tinyBase(10);
  const input = pixels(13, 10);
  const whole = await extractFeatures(model, input, { workers: 1, batchSize: 4 });
  // Cut after the first conv block: the residual Add after it also reads the cut, so the suffix keeps both uses.
  const relu = model.layers.find((l) => l.getClassName() === 'ReLU')!;
  const { prefix, suffix } = cutModelAt(model, relu.name);
  const mid = await extractFeatures(prefix, input, { workers: 1, batchSize: 4 });
  assert.deepEqual(mid.shape, [13, 6, 6, 8]);
  const before = tf.memory().numTensors;
  const one = await extractFeatures(suffix, { values: mid.data, shape: mid.shape }, { workers: 1, batchSize: 4 });
  const two = await extractFeatures(suffix, { values: mid.data, shape: mid.shape }, { workers: 2, batchSize: 3 });
  const shared = new Float32Array(new SharedArrayBuffer(mid.data.byteLength));
  shared.set(mid.data);
  const viaShared = await extractFeatures(suffix, { values: shared, shape: mid.shape }, { workers: 2, batchSize: 5 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(one.shape, whole.shape);
  assert.equal(maxAbsDiff(one.data, whole.data), 0);
  assert.equal(maxAbsDiff(two.data, whole.data), 0);
  assert.equal(maxAbsDiff(viaShared.data, whole.data), 0);
  // The caller's activations are left as they were (workers got copies or read-only views).
  assert.equal(maxAbsDiff(shared, mid.data), 0);
  await assert.rejects(extractFeatures(suffix, { values: mid.data, shape: [13, 6, 6, 9] }), /input.values has 3744 numbers, expected 13\*6\*6\*9/);
  await assert.rejects(extractFeatures(suffix, { values: mid.data.subarray(0, 6 * 6 * 8), shape: [1, 6, 8, 6] }), /takes input \[null,6,6,8\], but the samples are 6x8x6/);
  await assert.rejects(extractFeatures(suffix, input), /takes input \[null,6,6,8\], but the samples are 12x12x3/);
  prefix.dispose();
  suffix.dispose();
  model.dispose();
});

/** A layer class the worker threads have never heard of. */
class TimesTwo extends tf.layers.Layer {
  static readonly className = 'ExtractTestTimesTwo';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 2);
  }
}
tf.serialization.registerClass(TimesTwo);

test('a worker error reaches the caller with its message, and the pool keeps working', async () => {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const custom = tf.model({ inputs: input, outputs: new TimesTwo({}).apply(input) as tf.SymbolicTensor });
  const px = pixels(4, 8);
  const here = await extractFeatures(custom, px, { workers: 1 });
  assert.ok(Math.abs(here.data[0] - ((px.pixels[0] * 2) / 255 - 1) * 2) < 1e-5);
  await assert.rejects(extractFeatures(custom, px, { workers: 2, batchSize: 2 }), /ExtractTestTimesTwo.*not registered in this thread/);
  const model = tinyBase(9);
  const one = await extractFeatures(model, px, { workers: 1, batchSize: 2 });
  const two = await extractFeatures(model, px, { workers: 2, batchSize: 2 });
  assert.equal(maxAbsDiff(two.data, one.data), 0);
  model.dispose();
  custom.dispose();
});
