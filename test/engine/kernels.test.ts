import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../lib/engine/kernels/index';
import { createRng } from '../../lib/util/random';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid';

function randomArray(size: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: size }, () => rng.uniform(-1, 1));
}

/** Runs one kernel on a backend from plain arrays; returns the output values and shape. */
async function runOn(
  backend: 'cpu' | 'wasm',
  kernel: string,
  inputs: Record<string, { shape: Shape4; values: Float32Array }>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array }> {
  await initEngine({ engine: backend, quiet: true });
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, { shape, values }] of Object.entries(inputs)) tensors[name] = tf.tensor4d(values, shape);
  const before = tf.memory().numTensors;
  const out = tf.engine().runKernel(kernel, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  assert.equal(tf.memory().numTensors, before + 1, `${kernel} on ${backend} leaks intermediate tensors`);
  const result = { shape: out.shape, values: (await out.data()) as Float32Array };
  out.dispose();
  Object.values(tensors).forEach((t) => t.dispose());
  return result;
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / (scale || 1);
}

async function compare(kernel: string, inputs: Record<string, { shape: Shape4; values: Float32Array }>, attrs: Record<string, unknown>, label: string) {
  const ref = await runOn('cpu', kernel, inputs, attrs);
  const got = await runOn('wasm', kernel, inputs, attrs);
  assert.deepEqual(got.shape, ref.shape, `${label}: shape`);
  const err = relativeError(got.values, ref.values);
  assert.ok(err < 1e-4, `${label}: relative error ${err}`);
  assert.ok(ref.values.some((v) => v !== 0), `${label}: reference is all zeros`);
}

/** Output size of a forward convolution, to size dy. */
function outSize(inSize: number, k: number, s: number, pad: Pad): number {
  return pad === 'same' ? Math.ceil(inSize / s) : Math.floor((inSize - k) / s) + 1;
}

interface Case { n: number; h: number; w: number; c: number; k: number; s: number; pad: Pad }
function cases(): Case[] {
  const out: Case[] = [];
  for (const [h, w] of [[9, 7], [8, 6]]) {
    for (const k of [1, 3]) for (const s of [1, 2]) for (const pad of ['same', 'valid'] as Pad[]) out.push({ n: 2, h, w, c: 3, k, s, pad });
  }
  return out;
}

test('the wasm backend has every training kernel after registration, and registering again is harmless', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => warnings.push(a);
  try {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
});

test('Conv2DBackpropFilter and Conv2DBackpropInput match cpu', async () => {
  let seed = 1;
  for (const { n, h, w, c, k, s, pad } of cases()) {
    for (const cout of [4, 2]) {
      const ho = outSize(h, k, s, pad);
      const wo = outSize(w, k, s, pad);
      const x = { shape: [n, h, w, c] as Shape4, values: randomArray(n * h * w * c, seed++) };
      const dy = { shape: [n, ho, wo, cout] as Shape4, values: randomArray(n * ho * wo * cout, seed++) };
      const filter = { shape: [k, k, c, cout] as Shape4, values: randomArray(k * k * c * cout, seed++) };
      const label = `${n}x${h}x${w}x${c} k${k} s${s} ${pad} cout ${cout}`;
      const common = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      await compare('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: filter.shape }, `filter ${label}`);
      await compare('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: x.shape }, `input ${label}`);
    }
  }
});

test('DepthwiseConv2dNative backprop kernels match cpu (channel multiplier 1 and 2)', async () => {
  let seed = 1000;
  for (const { n, h, w, c, k, s, pad } of cases()) {
    for (const m of [1, 2]) {
      const ho = outSize(h, k, s, pad);
      const wo = outSize(w, k, s, pad);
      const x = { shape: [n, h, w, c] as Shape4, values: randomArray(n * h * w * c, seed++) };
      const dy = { shape: [n, ho, wo, c * m] as Shape4, values: randomArray(n * ho * wo * c * m, seed++) };
      const filter = { shape: [k, k, c, m] as Shape4, values: randomArray(k * k * c * m, seed++) };
      const label = `${n}x${h}x${w}x${c} k${k} s${s} ${pad} m${m}`;
      const common = { strides: [s, s], dilations: [1, 1], pad, dimRoundingMode: undefined };
      await compare('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, filterShape: filter.shape }, `filter ${label}`);
      await compare('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...common, inputShape: x.shape }, `input ${label}`);
    }
  }
});

test('larger MobileNet-like shapes match cpu (1x1 wide and narrow, 3x3 depthwise stride 2 on even input)', async () => {
  const shapes: [string, Record<string, { shape: Shape4; values: Float32Array }>, Record<string, unknown>][] = [];
  const mk = (shape: Shape4, seed: number) => ({ shape, values: randomArray(shape.reduce((a, b) => a * b), seed) });
  shapes.push(['Conv2DBackpropFilter', { x: mk([4, 16, 12, 24], 1), dy: mk([4, 16, 12, 8], 2) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [1, 1, 24, 8] }]);
  shapes.push(['Conv2DBackpropFilter', { x: mk([4, 16, 12, 8], 3), dy: mk([4, 16, 12, 48], 4) }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 8, 48] }]);
  shapes.push(['Conv2DBackpropInput', { dy: mk([4, 16, 12, 48], 5), filter: mk([1, 1, 8, 48], 6) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [4, 16, 12, 8] }]);
  shapes.push(['DepthwiseConv2dNativeBackpropFilter', { x: mk([4, 17, 17, 32], 7), dy: mk([4, 8, 8, 32], 8) }, { strides: 2, dilations: 1, pad: 'valid', filterShape: [3, 3, 32, 1] }]);
  shapes.push(['DepthwiseConv2dNativeBackpropInput', { dy: mk([4, 8, 8, 32], 9), filter: mk([3, 3, 32, 1], 10) }, { strides: 2, dilations: 1, pad: 'valid', inputShape: [4, 17, 17, 32] }]);
  shapes.push(['Conv2DBackpropFilter', { x: mk([4, 33, 33, 3], 11), dy: mk([4, 16, 16, 16], 12) }, { strides: 2, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 3, 16] }]);
  // Depthwise filter gradients whose dy is larger than 5x5 run as several tiles (uneven last tiles too).
  shapes.push(['DepthwiseConv2dNativeBackpropFilter', { x: mk([2, 13, 11, 3], 13), dy: mk([2, 13, 11, 3], 14) }, { strides: 1, dilations: 1, pad: 'same', filterShape: [3, 3, 3, 1] }]);
  shapes.push(['DepthwiseConv2dNativeBackpropFilter', { x: mk([2, 14, 12, 3], 15), dy: mk([2, 7, 6, 6], 16) }, { strides: 2, dilations: 1, pad: 'same', filterShape: [3, 3, 3, 2] }]);
  shapes.push(['DepthwiseConv2dNativeBackpropFilter', { x: mk([2, 12, 9, 4], 17), dy: mk([2, 10, 7, 4], 18) }, { strides: 1, dilations: 1, pad: 'valid', filterShape: [3, 3, 4, 1] }]);
  for (const [kernel, inputs, attrs] of shapes) await compare(kernel, inputs, attrs, `${kernel} ${JSON.stringify(attrs)}`);
});

test('gradients through conv layers agree with cpu, and repeated calls do not leak', async () => {
  const xv = randomArray(2 * 10 * 8 * 3, 42);
  const w1v = randomArray(3 * 3 * 3 * 1, 43);
  const w2v = randomArray(1 * 1 * 3 * 5, 44);
  const grads = async (backend: 'cpu' | 'wasm') => {
    await initEngine({ engine: backend, quiet: true });
    const x = tf.tensor4d(xv, [2, 10, 8, 3]);
    const w1 = tf.tensor4d(w1v, [3, 3, 3, 1]);
    const w2 = tf.tensor4d(w2v, [1, 1, 3, 5]);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const h = tf.relu6(tf.depthwiseConv2d(tf.pad(a as tf.Tensor4D, [[0, 0], [0, 1], [0, 1], [0, 0]]), b as tf.Tensor4D, 2, 'valid'));
      return tf.sum(tf.square(tf.conv2d(h, c as tf.Tensor4D, 1, 'same')));
    };
    const run = () => tf.grads(f)([x, w1, w2]);
    run().forEach((t) => t.dispose());
    const before = tf.memory().numTensors;
    const gs = run();
    assert.equal(tf.memory().numTensors, before + 3, `gradients on ${backend} leak`);
    const values = await Promise.all(gs.map((g) => g.data() as Promise<Float32Array>));
    tf.dispose([x, w1, w2, ...gs]);
    return values;
  };
  const ref = await grads('cpu');
  const got = await grads('wasm');
  ref.forEach((r, i) => assert.ok(relativeError(got[i], r) < 1e-4, `gradient ${i}: ${relativeError(got[i], r)}`));
});

test('unsupported attributes fail with a clear message', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const x = tf.zeros([1, 4, 4, 2]);
  const dy = tf.zeros([1, 4, 4, 2]);
  assert.throws(
    () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, dilations: 2, pad: 'same', filterShape: [3, 3, 2, 1] } as unknown as tf.NamedAttrMap),
    /DepthwiseConv2dNativeBackpropFilter.*dilations must be 1/,
  );
  tf.dispose([x, dy]);
});

test('training-mode BatchNorm, ReLU6, mean and sum gradients agree with cpu; Identity/Cast share data on wasm', async () => {
  const xv = randomArray(3 * 5 * 4 * 6, 77);
  const gv = randomArray(6, 78);
  const bv = randomArray(6, 79);
  const wv = randomArray(3 * 5 * 4 * 6, 80);
  const grads = async (backend: 'cpu' | 'wasm') => {
    await initEngine({ engine: backend, quiet: true });
    const x = tf.tensor4d(xv, [3, 5, 4, 6]);
    const gamma = tf.tensor1d(gv);
    const beta = tf.tensor1d(bv);
    const w = tf.tensor4d(wv, [3, 5, 4, 6]);
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      // What tfjs-layers' BatchNormalization (training) and ReLU(maxValue 6) compute.
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      const normed = tf.batchNorm(a, mean, variance, b, g, 1e-3);
      const act = tf.clipByValue(tf.relu(tf.mul(normed, 4)), 0, 6);
      return tf.add(tf.sum(tf.mul(act, w)), tf.mean(tf.sum(tf.square(a), [0, 1])));
    };
    const run = () => tf.grads(f)([x, gamma, beta]);
    run().forEach((t) => t.dispose());
    const before = tf.memory().numTensors;
    const gs = run();
    assert.equal(tf.memory().numTensors, before + 3, `gradients on ${backend} leak`);
    const values = await Promise.all(gs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose([x, gamma, beta, w, ...gs]);
    return values;
  };
  const ref = await grads('cpu');
  const got = await grads('wasm');
  ['x', 'gamma', 'beta'].forEach((name, i) => {
    const err = relativeError(got[i], ref[i]);
    assert.ok(err < 1e-4, `d/d${name}: relative error ${err}`);
  });
  // The ReLU6 mask really clips on both sides: some pre-activations sit above 6 and some below 0.
  const pre = tf.tidy(() => {
    const x = tf.tensor4d(xv, [3, 5, 4, 6]);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.mul(tf.batchNorm(x, mean, variance, tf.tensor1d(bv), tf.tensor1d(gv), 1e-3), 4);
  });
  const p = await pre.data();
  pre.dispose();
  assert.ok(p.some((v) => v > 6) && p.some((v) => v < 0), 'test data exercises both clip bounds');

  await initEngine({ engine: 'wasm', quiet: true });
  const t = tf.tensor1d([1, 2, 3]);
  const c = tf.cast(t, 'float32');
  const i = tf.clone(t);
  assert.equal(c.dataId, t.dataId);
  assert.equal(i.dataId, t.dataId);
  t.dispose();
  assert.deepEqual(Array.from(await c.data()), [1, 2, 3], 'shared data outlives the original tensor');
  assert.deepEqual(Array.from(await tf.cast(c, 'int32').data()), [1, 2, 3]);
  tf.dispose([c, i]);
});

test('Sum and Mean over leading axes match cpu (and other reductions still work)', async () => {
  const cases: [number[], number[], boolean][] = [
    [[4, 6, 5, 7], [0, 1, 2], false],
    [[4, 6, 5, 7], [0, 1, 2], true],
    [[4, 6, 5, 7], [0], false],
    [[9, 5], [0], true],
    [[3, 4, 5], [1, 2], false],
    [[3, 4, 5], [-1], false],
  ];
  for (const [shape, axis, keepDims] of cases) {
    const values = randomArray(shape.reduce((a, b) => a * b), shape.length * 31 + axis.length);
    for (const op of ['sum', 'mean'] as const) {
      const compute = async (backend: 'cpu' | 'wasm') => {
        await initEngine({ engine: backend, quiet: true });
        const x = tf.tensor(values, shape);
        const y = op === 'sum' ? tf.sum(x, axis, keepDims) : tf.mean(x, axis, keepDims);
        const out = { shape: y.shape, values: (await y.data()) as Float32Array };
        tf.dispose([x, y]);
        return out;
      };
      const ref = await compute('cpu');
      const got = await compute('wasm');
      const label = `${op} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
      assert.deepEqual(got.shape, ref.shape, label);
      assert.ok(relativeError(got.values, ref.values) < 1e-5, `${label}: ${relativeError(got.values, ref.values)}`);
    }
  }
});

test('FusedBatchNorm on wasm matches cpu, with and without scale and offset; other statistic shapes still work', async () => {
  const shape = [3, 5, 4, 6];
  const x = randomArray(3 * 5 * 4 * 6, 71);
  const stats = [72, 73, 74, 75].map((seed) => randomArray(6, seed));
  stats[1] = stats[1].map((v) => v + 1.5); // a variance
  const compute = async (backend: 'cpu' | 'wasm', withScale: boolean, withOffset: boolean, rank4Stats: boolean) => {
    await initEngine({ engine: backend, quiet: true });
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const s = (v: Float32Array) => (rank4Stats ? tf.tensor4d(v, [1, 1, 1, 6]) : tf.tensor1d(v));
      const y = tf.batchNorm(tf.tensor4d(x, shape as Shape4), s(stats[0]), s(stats[1]), withOffset ? s(stats[2]) : undefined, withScale ? s(stats[3]) : undefined, 1e-3);
      return y;
    });
    const values = (await out.data()) as Float32Array;
    out.dispose();
    assert.equal(tf.memory().numTensors, before, `batchNorm on ${backend} leaks`);
    return values;
  };
  for (const [withScale, withOffset, rank4Stats] of [[true, true, false], [false, true, false], [true, false, false], [false, false, false], [true, true, true]]) {
    const ref = await compute('cpu', withScale, withOffset, rank4Stats);
    const got = await compute('wasm', withScale, withOffset, rank4Stats);
    const err = relativeError(got, ref);
    assert.ok(err < 1e-5, `scale ${withScale} offset ${withOffset} rank-4 stats ${rank4Stats}: relative error ${err}`);
  }
});

test('Slice on wasm matches cpu for ranks 1 to 5, int32 and bool, empty slices and strings', async () => {
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [5]],
    [[6, 7], [1, 2], [4, -1]],
    [[4, 5, 6], [1, 0, 2], [2, 5, 3]],
    [[3, 12, 12, 8], [0, 5, 0, 0], [3, 7, 7, 8]],
    [[2, 4, 5, 6], [1, 1, 2, 3], [1, 2, 2, 2]],
    [[2, 3, 4, 5, 6], [0, 1, 1, 2, 0], [2, 2, 3, 2, 6]],
    [[4, 5], [2, 0], [0, 5]],
  ];
  for (const [shape, begin, size] of cases) {
    const n = shape.reduce((a, b) => a * b);
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 3 === 0 : dtype === 'int32' ? i * 7 - 50 : i * 0.5 - 3));
      const compute = async (backend: 'cpu' | 'wasm') => {
        await initEngine({ engine: backend, quiet: true });
        const before = tf.memory().numTensors;
        const x = tf.tensor(values as number[], shape, dtype);
        const y = tf.slice(x, begin, size);
        const out = { shape: y.shape, values: Array.from(await y.data()) };
        tf.dispose([x, y]);
        assert.equal(tf.memory().numTensors, before);
        return out;
      };
      const ref = await compute('cpu');
      const got = await compute('wasm');
      assert.deepEqual(got, ref, `${dtype} ${JSON.stringify(shape)} begin ${JSON.stringify(begin)} size ${JSON.stringify(size)}`);
    }
  }
  await initEngine({ engine: 'wasm', quiet: true });
  const strings = tf.tensor(['a', 'b', 'c', 'd'], [2, 2], 'string');
  const sliced = tf.slice(strings, [1, 0], [1, 2]);
  assert.deepEqual(await sliced.array(), [['c', 'd']]);
  tf.dispose([strings, sliced]);
});
