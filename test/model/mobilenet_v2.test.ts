import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { buildMobileNetV2, mobileNetV2MakeDivisible } from '../../lib/model/mobilenet_v2';

interface KerasLayer {
  name: string;
  class_name: string;
  inbound_nodes: [string, number, number, unknown][][];
}

/** The Keras 2.2.4 MobileNetV2 topology shipped by nsfwjs, up to `out_relu`. */
function nsfwjsBaseLayers(): KerasLayer[] {
  const file = path.join(require.resolve('nsfwjs').replace(/dist[\\/].*$/, ''), 'dist/models/mobilenet_v2/model.min.js');
  const layers: KerasLayer[] = require(file).modelTopology.model_config.config.layers;
  return layers.slice(0, layers.findIndex((l) => l.name === 'out_relu') + 1);
}

test('layer names, classes and wiring match the Keras MobileNetV2 inside nsfwjs', async () => {
  await initEngine({ engine: 'cpu', quiet: true });
  const model = buildMobileNetV2({ seed: 1 });
  try {
    const ours = model.layers.map((l) => ({
      name: l.name,
      cls: l.getClassName(),
      inbound: l.inboundNodes[0].inboundLayers.map((x) => x.name),
    }));
    const theirs = nsfwjsBaseLayers().map((l) => ({
      name: l.name,
      cls: l.class_name,
      inbound: l.inbound_nodes.length ? l.inbound_nodes[0].map((n) => n[0]) : [],
    }));
    assert.equal(ours.length, 155);
    assert.deepEqual(ours, theirs);
    assert.deepEqual(model.outputs[0].shape, [null, 7, 7, 1280]);
    assert.equal(model.name, 'mobilenetv2_1.00_224');
    // Keras MobileNetV2 alpha 1.0 without top: 2,257,984 parameters.
    assert.equal(model.countParams(), 2257984);
    const relu = model.getLayer('block_5_expand_relu').getConfig();
    assert.equal(relu.maxValue, 6);
    const bn = model.getLayer('block_5_expand_BN').getConfig();
    assert.equal(bn.epsilon, 1e-3);
    assert.equal(bn.momentum, 0.999);
  } finally {
    model.dispose();
  }
});

test('small widths and inputs: alpha 0.35 at 64 px with a top', async () => {
  await initEngine({ engine: 'cpu', quiet: true });
  const model = buildMobileNetV2({ alpha: 0.35, inputSize: 64, numClasses: 3, seed: 2 });
  try {
    assert.deepEqual(model.getLayer('out_relu').outputShape, [null, 2, 2, 1280]);
    assert.deepEqual(model.getLayer('Conv1').outputShape, [null, 32, 32, 16]);
    assert.deepEqual(model.getLayer('block_16_project').outputShape, [null, 2, 2, 112]);
    assert.deepEqual(model.outputs[0].shape, [null, 3]);
    assert.equal(model.layers[model.layers.length - 1].name, 'Logits');
    const y = tf.tidy(() => model.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor);
    const sums = (await y.sum(1).array()) as number[];
    y.dispose();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5, 'softmax rows sum to 1');
  } finally {
    model.dispose();
  }
  // Odd sizes pad symmetrically like Keras' correct_pad.
  const odd = buildMobileNetV2({ alpha: 0.35, inputSize: 33 });
  assert.deepEqual(odd.getLayer('Conv1_pad').getConfig().padding, [[1, 1], [1, 1]]);
  assert.deepEqual(odd.getLayer('out_relu').outputShape, [null, 2, 2, 1280]);
  odd.dispose();
});

test('seeded builds are identical; different seeds differ; no tensors leak', async () => {
  await initEngine({ engine: 'cpu', quiet: true });
  const before = tf.memory().numTensors;
  const a = buildMobileNetV2({ alpha: 0.35, inputSize: 32, seed: 7 });
  const b = buildMobileNetV2({ alpha: 0.35, inputSize: 32, seed: 7 });
  const c = buildMobileNetV2({ alpha: 0.35, inputSize: 32, seed: 8 });
  const wa = a.getWeights();
  const wb = b.getWeights();
  const wc = c.getWeights();
  assert.equal(wa.length, wb.length);
  for (let i = 0; i < wa.length; i++) assert.deepEqual(wa[i].dataSync(), wb[i].dataSync());
  const kernel = a.weights.findIndex((w) => w.originalName === 'block_3_expand/kernel');
  assert.notDeepEqual(wa[kernel].dataSync(), wc[kernel].dataSync());
  // Different layers get different streams.
  const k1 = a.getLayer('block_3_depthwise').getWeights()[0].dataSync();
  const k2 = a.getLayer('block_4_depthwise').getWeights()[0].dataSync();
  assert.notDeepEqual(Array.from(k1.slice(0, 9)), Array.from(k2.slice(0, 9)));
  a.dispose();
  b.dispose();
  c.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('channel rounding follows Keras _make_divisible', () => {
  assert.equal(mobileNetV2MakeDivisible(32 * 0.35), 16);
  assert.equal(mobileNetV2MakeDivisible(Math.floor(16 * 0.35)), 8);
  assert.equal(mobileNetV2MakeDivisible(Math.floor(320 * 0.35)), 112);
  assert.equal(mobileNetV2MakeDivisible(Math.floor(24 * 0.75)), 24);
  assert.equal(mobileNetV2MakeDivisible(1280 * 1.4), 1792);
});

test('bad options name the parameter', () => {
  assert.throws(() => buildMobileNetV2({ alpha: 0 }), /alpha/);
  assert.throws(() => buildMobileNetV2({ inputSize: 16 }), /inputSize/);
  assert.throws(() => buildMobileNetV2({ numClasses: 1.5 }), /numClasses/);
});
