/** Grad-CAM: exact on a head it can be worked out by hand, localising on a trained net, batch-independent, no leaks. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { decodeImage } from '../../lib/data/decode';
import { gradCam, gradCamBatch, pixelSetImages, type GradCamResult } from '../../lib/evaluate/gradcam';
import { loadBase } from '../../lib/model/bases';
import type { Classifier } from '../../lib/model/persist';
import { buildClassifier } from '../../lib/model/surgery';
import { createRng } from '../../lib/util/random';
import { encodePng } from '../../lib/util/png';
import { buildTinyBase, tempDir } from '../model/helpers';

const classes3 = ['rock', 'paper', 'scissors'];
const asClassifier = (model: tf.LayersModel, classes: string[], pixelRange: [number, number] = [0, 1]): Classifier => ({
  model,
  metadata: { classes, inputSize: model.inputs[0].shape[1] as number, pixelRange, base: 'test', formatVersion: 1, savedAt: '' },
});
const randomRgb = (size: number, seed: number): Uint8Array => {
  const rng = createRng(seed);
  return Uint8Array.from({ length: size * size * 3 }, () => rng.int(256));
};
/** Share of the map's mass in columns < size/2. */
const leftShare = (r: GradCamResult): number => {
  let left = 0;
  let all = 0;
  r.heatmap.forEach((v, i) => {
    all += v;
    if (i % r.size < r.size / 2) left += v;
  });
  return left / all;
};
const inUnitRange = (r: GradCamResult): boolean => r.heatmap.every((v) => v >= 0 && v <= 1) && (r.peak === 0 || Math.abs(Math.max(...r.heatmap) - 1) < 1e-6);

before(async () => {
  await initEngine({ engine: 'wasm', quiet: true });
});

describe('on a 1x1-conv + pooling head, Grad-CAM is the class-weighted map of the logits (CAM)', () => {
  const size = 8;
  let model: tf.LayersModel;
  let features: tf.LayersModel;
  before(() => {
    const input = tf.input({ shape: [size, size, 3], name: 'in' });
    const a = tf.layers.conv2d({ name: 'features', filters: 5, kernelSize: 1, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }), biasInitializer: tf.initializers.constant({ value: 0.1 }) }).apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(a) as tf.SymbolicTensor;
    const out = tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }) }).apply(pooled) as tf.SymbolicTensor;
    model = tf.model({ inputs: input, outputs: out });
    features = tf.model({ inputs: input, outputs: a });
  });
  // `features` shares every layer it has with `model`: disposing `model` frees them.
  after(() => model.dispose());

  test('heatmap = ReLU(sum_k W[k,c] A_k) / max for every class; default class = the predicted one', async () => {
    const rgb = randomRgb(size, 3);
    const x = tf.tensor4d(rgb, [1, size, size, 3], 'int32').toFloat().div(255);
    const A = (features.predict(x) as tf.Tensor).dataSync();
    const probs = (model.predict(x) as tf.Tensor).dataSync();
    const [W] = model.getLayer('out').getWeights();
    const w = W.arraySync() as number[][];
    x.dispose();
    const classifier = asClassifier(model, classes3);
    for (let c = 0; c < 3; c++) {
      const raw = Array.from({ length: size * size }, (_, p) => Math.max(0, w.reduce((s, row, k) => s + row[c] * A[p * 5 + k], 0)));
      const max = Math.max(...raw);
      const r = await gradCam(classifier, { rgb }, { classIndex: c });
      assert.equal(r.layer, 'features');
      assert.deepEqual(r.mapSize, [size, size]);
      assert.equal(r.score, 'logit');
      r.heatmap.forEach((v, p) => assert.ok(Math.abs(v - raw[p] / max) < 1e-4, `class ${c} pixel ${p}: ${v} vs ${raw[p] / max}`));
      assert.ok(Math.abs(r.peak - max / (size * size)) < 1e-6, `peak ${r.peak} vs ${max / (size * size)}`);
      assert.deepEqual(r.probabilities.map((p) => p.toFixed(5)), Array.from(probs, (p) => p.toFixed(5)));
    }
    const predicted = probs.indexOf(Math.max(...probs));
    const d = await gradCam(classifier, { rgb });
    assert.equal(d.classIndex, predicted);
    assert.equal(d.predictedIndex, predicted);
    assert.equal(d.className, classes3[predicted]);
  });
});

test('a net trained where only the left half carries the class puts most of its Grad-CAM mass on the left', async () => {
  // 16 px images of grey noise; a red (class 0) or green (class 1) square somewhere in the left half.
  const size = 16;
  const rng = createRng(5);
  const make = (label: number): Uint8Array => {
    const rgb = new Uint8Array(size * size * 3);
    for (let p = 0; p < size * size; p++) rgb.fill(90 + rng.int(70), p * 3, p * 3 + 3);
    const s = 5;
    const r0 = rng.int(size - s + 1);
    const c0 = rng.int(size / 2 - s + 1);
    for (let r = r0; r < r0 + s; r++) for (let c = c0; c < c0 + s; c++) rgb.set(label ? [40, 220, 40] : [220, 40, 40], (r * size + c) * 3);
    return rgb;
  };
  const n = 48;
  const labels = Array.from({ length: n + 8 }, (_, i) => i % 2);
  const images = labels.map(make);
  const input = tf.input({ shape: [size, size, 3] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ name: 'last_conv', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  try {
    const { xs, ys } = tf.tidy(() => ({
      xs: tf.tensor4d(Buffer.concat(images.slice(0, n)), [n, size, size, 3], 'int32').toFloat().div(255),
      ys: tf.oneHot(tf.tensor1d(labels.slice(0, n), 'int32'), 2).toFloat(),
    }));
    model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const hist = await model.fit(xs, ys, { epochs: 25, batchSize: 16, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    assert.ok(hist.history.acc[hist.history.acc.length - 1] as number > 0.95, 'the net learned the task');
    const results = await gradCamBatch(asClassifier(model, ['red', 'green']), images.slice(n).map((rgb, i) => ({ rgb, label: labels[n + i] })));
    assert.equal(results[0].layer, 'last_conv');
    assert.deepEqual(results[0].mapSize, [8, 8]);
    const shares = results.map(leftShare);
    // A transposed or mirrored map gives about 0.4 and 0.1 here.
    assert.ok(shares.reduce((a, b) => a + b) / shares.length > 0.75, `left shares ${shares.map((v) => v.toFixed(2)).join(' ')}`);
    assert.ok(shares.every((v) => v > 0.6), `left shares ${shares.map((v) => v.toFixed(2)).join(' ')}`);
    for (const r of results) assert.ok(inUnitRange(r));
  } finally {
    model.dispose();
  }
});

/** The tiny MobileNetV2-named base (BN layers, a residual block) with a pooling + softmax head, BN not guarded. */
function tinyClassifier(): Classifier {
  const base = buildTinyBase();
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(base.outputs[0]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) }).apply(pooled) as tf.SymbolicTensor;
  return asClassifier(tf.model({ inputs: base.inputs, outputs: out }), classes3);
}

describe('on a tiny MobileNetV2-named classifier', () => {
  let classifier: Classifier;
  const images = [1, 2, 3].map((seed) => ({ rgb: randomRgb(32, seed) }));
  before(() => {
    classifier = tinyClassifier();
  });
  after(() => classifier.model.dispose());

  test('an image gets the same map alone as in a batch (inference mode: BN uses its moving statistics)', async () => {
    for (const layer of [undefined, 'block_1_expand_relu']) {
      const together = await gradCamBatch(classifier, images, { layer, batchSize: 3 });
      for (let i = 0; i < images.length; i++) {
        const alone = await gradCam(classifier, images[i], { layer });
        assert.ok(together[i].peak > 0);
        assert.ok(Math.abs(alone.peak - together[i].peak) < 1e-6 * together[i].peak, `${layer} image ${i}: peak ${alone.peak} vs ${together[i].peak}`);
        alone.heatmap.forEach((v, p) => assert.ok(Math.abs(v - together[i].heatmap[p]) < 1e-5, `${layer} image ${i} pixel ${p}`));
      }
      assert.equal(together[0].layer, layer ?? 'out_relu');
      // block_1 runs at stride 2 (16x16), the last map at stride 4.
      assert.deepEqual(together[0].mapSize, layer ? [16, 16] : [8, 8]);
    }
  });

  test('maps lie in [0, 1] at the input size; classIndex per image; labels and files are carried', async () => {
    const set = { size: 32, count: 3, pixels: Buffer.concat(images.map((im) => im.rgb)), labels: Int32Array.from([2, 0, 1]), files: ['a.png', 'b.png', 'c.png'] };
    const rs = await gradCamBatch(classifier, pixelSetImages(set, [2, 0]), { classIndex: [1, 2], batchSize: 1 });
    assert.deepEqual(rs.map((r) => [r.classIndex, r.className, r.label, r.trueClass, r.file]), [
      [1, 'paper', 1, 'paper', 'c.png'],
      [2, 'scissors', 2, 'scissors', 'a.png'],
    ]);
    for (const r of rs) {
      assert.equal(r.heatmap.length, 32 * 32);
      assert.equal(r.size, 32);
      assert.ok(inUnitRange(r));
      assert.ok(Math.abs(r.probabilities.reduce((a, b) => a + b) - 1) < 1e-5);
    }
    assert.ok(Buffer.from(rs[0].rgb).equals(images[2].rgb));
    assert.throws(() => pixelSetImages(set, [3]), /index 3 is not an image of the set \(0\.\.2\)/);
  });

  test('a file goes through the data stage decoder', async () => {
    const dir = tempDir('gradcam');
    try {
      const file = path.join(dir, 'hand.png');
      fs.writeFileSync(file, encodePng(randomRgb(48, 4), 48, 48));
      const fromFile = await gradCam(classifier, { file, label: 1 });
      const fromPixels = await gradCam(classifier, { rgb: await decodeImage(file, 32) });
      assert.equal(fromFile.file, file);
      assert.equal(fromFile.trueClass, 'paper');
      assert.deepEqual(fromFile.heatmap, fromPixels.heatmap);
      await assert.rejects(gradCam(classifier, { file: path.join(dir, 'missing.png') }), /cannot decode image .*missing\.png/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('repeated calls leave the tensor count flat', async () => {
    await gradCamBatch(classifier, images, { batchSize: 2 });
    const count = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await gradCam(classifier, images[i]);
      await gradCamBatch(classifier, images, { batchSize: 2, layer: 'block_1_expand_relu' });
      await assert.rejects(gradCam(classifier, images[0], { layer: 'pool' }));
    }
    assert.equal(tf.memory().numTensors, count);
  });

  test('bad input is refused, naming what was expected', async () => {
    const im = images[0];
    await assert.rejects(gradCam(classifier, im, { layer: 'nope' }), /layer 'nope' is not a layer of model .*Feature-map layers \(the default is the last, 'out_relu'\): Conv1_pad, Conv1, .*block_1_expand_relu, .*out_relu$/);
    await assert.rejects(gradCam(classifier, im, { layer: 'pool' }), /layer 'pool' outputs shape \[null, 24\], not a \[batch, height, width, channels\] feature map/);
    await assert.rejects(gradCam(classifier, { rgb: new Uint8Array(12) }), /image 0 has 12 RGB bytes; the classifier takes 32x32 RGB \(3072 bytes\)/);
    await assert.rejects(gradCam(classifier, im, { classIndex: 3 }), /classIndex 3 \(image 0\) is not a class index 0\.\.2 \(rock, paper, scissors\)/);
    await assert.rejects(gradCamBatch(classifier, [im, im], { classIndex: [0] }), /1 classIndex values for 2 images/);
    await assert.rejects(gradCam(classifier, { ...im, label: 7 }), /label 7 of image 0/);
    await assert.rejects(gradCamBatch(classifier, []), /no images/);
    await assert.rejects(gradCamBatch(classifier, images, { batchSize: 0 }), /batchSize must be an integer >= 1/);
    await assert.rejects(gradCam(classifier, { pixels: im.rgb } as never), /image 0 must be \{ rgb: Uint8Array \}/);
    const input = tf.input({ shape: [4, 4, 3] });
    const flat = tf.layers.flatten({}).apply(input) as tf.SymbolicTensor;
    const dense = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor, name: 'no_maps' });
    try {
      await assert.rejects(gradCam(asClassifier(dense, ['a', 'b']), { rgb: new Uint8Array(48) }), /model 'no_maps' has no 4-D \[batch, height, width, channels\] feature map/);
    } finally {
      dense.dispose();
    }
  });
});

test('the embedded MobileNetV2 base + a head at 96 px: the out_relu map, [96, 96] in [0, 1], no leak', async () => {
  const base = await loadBase({ base: 'embedded', inputSize: 96, quiet: true });
  const model = buildClassifier(base, { numClasses: 3 });
  try {
    const classifier = asClassifier(model, classes3, base.spec.pixelRange);
    const image = { rgb: randomRgb(96, 8) };
    await gradCam(classifier, image);
    const count = tf.memory().numTensors;
    const r = await gradCam(classifier, image);
    assert.equal(tf.memory().numTensors, count);
    assert.equal(r.layer, 'out_relu');
    assert.deepEqual(r.mapSize, [3, 3]);
    assert.equal(r.heatmap.length, 96 * 96);
    assert.ok(r.peak > 0);
    assert.ok(inUnitRange(r));
  } finally {
    model.dispose();
    base.model.dispose();
  }
});
