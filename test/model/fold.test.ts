import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { buildMobileNetV2 } from '../../lib/model/mobilenet_v2';
import { buildInferenceSpec, FoldedModel, foldModel, InferenceSpec } from '../../lib/model/fold';

before(async () => {
  await initEngine({ engine: 'wasm', quiet: true });
});

/** Gives every BatchNormalization non-trivial statistics, so folding has something to get wrong. */
function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const ws = l.getWeights();
    // gamma, beta, mean, variance (variance kept positive).
    const fresh = ws.map((w, i) => tf.randomUniform(w.shape, i === ws.length - 1 ? 0.5 : -0.5, 1.5, 'float32', s++));
    l.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** conv+BN+ReLU6, explicit stride-2 padding, depthwise+BN+ReLU6, a 1x1 projection with a residual Add, a head. */
function tinyModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [9, 9, 3], name: 'img' });
  let x = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pad0' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: init(1), name: 'c0' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-3, name: 'bn0' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: 'r0' }).apply(x) as tf.SymbolicTensor;
  const skip = x;
  // Asymmetric padding that is not 'same': merges into a conv, stays a pad step before a depthwise.
  let h = tf.layers.zeroPadding2d({ padding: [[2, 0], [1, 1]], name: 'pad1' }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'valid', useBias: true, depthwiseInitializer: init(2), name: 'dw' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'bn1' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ maxValue: 6, name: 'r1' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]], name: 'pad2' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 8, kernelSize: 2, padding: 'valid', useBias: true, kernelInitializer: init(3), name: 'proj' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'bn2' }).apply(h) as tf.SymbolicTensor;
  x = tf.layers.add({ name: 'add' }).apply([skip, h]) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 1, activation: 'relu', kernelInitializer: init(4), name: 'c_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5), name: 'head' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x, name: 'tiny' });
  randomizeBatchNorm(m, 10);
  return m;
}

function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(x[i]));
  }
  assert.ok(scale > 1e-3, `outputs too small to compare (${scale})`);
  return diff / scale;
}

test('folding a tiny conv/BN/ReLU6/depthwise/Add model matches the model within 1e-4', () => {
  const m = tinyModel();
  const x = tf.randomUniform([5, 9, 9, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const spec = buildInferenceSpec(m);
  const kinds = spec.steps.map((s) => `${s.kind}:${s.name}`);
  // Every BN and ReLU6 went into a convolution; pad0 (same as 'same') and pad2 (explicit) merged; pad1 before the
  // depthwise is not 'same' and stays.
  assert.deepEqual(kinds, [
    'input:img', 'conv2d:c0', 'pad:pad1', 'depthwise:dw', 'conv2d:proj', 'add:add', 'conv2d:c_relu', 'layer:gap', 'layer:head',
  ]);
  const c0 = spec.steps[1] as Extract<InferenceSpec['steps'][number], { kind: 'conv2d' | 'depthwise' }>;
  assert.deepEqual(c0.merged, ['pad0', 'c0', 'bn0', 'r0']);
  assert.equal(c0.activation, 'relu6');
  const proj = spec.steps[4] as Extract<InferenceSpec['steps'][number], { kind: 'conv2d' | 'depthwise' }>;
  assert.deepEqual(proj.pad, [[0, 0], [1, 0], [0, 1], [0, 0]]);
  assert.equal(proj.activation, 'linear');

  const folded = new FoldedModel(spec);
  const want = m.predict(x) as tf.Tensor;
  const got = folded.predict(x);
  assert.ok(relativeError(want, got) < 1e-4);
  tf.dispose([want, got, x]);
  folded.dispose();
  m.dispose();
});

test('the unfolded inference form equals model.predict', () => {
  const m = tinyModel();
  const x = tf.randomUniform([3, 9, 9, 3], -1, 1, 'float32', 8) as tf.Tensor4D;
  const plain = foldModel(m, { fold: false });
  assert.ok(plain.spec.steps.every((s) => s.kind === 'input' || s.kind === 'layer'));
  const want = m.predict(x) as tf.Tensor;
  const got = plain.predict(x);
  assert.ok(relativeError(want, got) < 1e-6);
  tf.dispose([want, got, x]);
  plain.dispose();
  m.dispose();
});

test('MobileNetV2 folds into one fused step per conv and matches within 1e-4; the spec survives a thread hop', () => {
  const m = buildMobileNetV2({ alpha: 0.35, inputSize: 64, seed: 3, numClasses: 3 });
  randomizeBatchNorm(m, 100);
  const x = tf.randomUniform([2, 64, 64, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
  const spec = buildInferenceSpec(m);
  const count = (k: string) => spec.steps.filter((s) => s.kind === k).length;
  assert.equal(count('conv2d'), 35);
  assert.equal(count('depthwise'), 17);
  assert.equal(count('pad'), 0);
  assert.equal(count('add'), 10);
  // Only the head (GAP + Dense) runs as plain layers; no BatchNormalization or ReLU is left.
  assert.deepEqual(spec.steps.filter((s) => s.kind === 'layer').map((s) => s.name), ['global_average_pooling2d', 'Logits']);

  const before = tf.memory().numTensors;
  const folded = new FoldedModel(deserialize(serialize(spec)) as InferenceSpec);
  const want = m.predict(x) as tf.Tensor;
  for (let i = 0; i < 2; i++) {
    const got = folded.predict(x);
    assert.ok(relativeError(want, got) < 1e-4);
    got.dispose();
  }
  want.dispose();
  folded.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  m.dispose();
});

test('folded weights are a snapshot and bad input is refused clearly', () => {
  const m = tinyModel();
  const folded = foldModel(m);
  const x = tf.randomUniform([2, 9, 9, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
  const first = folded.predict(x);
  const c0 = m.getLayer('c0');
  const doubled = c0.getWeights().map((w) => w.mul(2));
  c0.setWeights(doubled);
  tf.dispose(doubled);
  const second = folded.predict(x);
  assert.equal(relativeError(first, second), 0);
  const now = m.predict(x) as tf.Tensor;
  assert.ok(relativeError(now, second) > 1e-3);
  tf.dispose([first, second, now, x]);

  assert.throws(() => folded.predict(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D), /input shape \[1,8,8,3\], expected \[batch, 9, 9, 3\]/);
  folded.dispose();
  assert.throws(() => folded.predict(tf.zeros([1, 9, 9, 3]) as tf.Tensor4D), /disposed/);
  const input = tf.input({ shape: [null, null, 3] });
  const open = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tf.SymbolicTensor });
  assert.throws(() => buildInferenceSpec(open), /foldModel: .*undefined dimension/);
  m.dispose();
  open.dispose();
});
