/** Feature maps and class scores found in the graph, and running a graph's layers on real tensors. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { classScoreOf, featureMapLayers, lastFeatureMapLayer } from '../../lib/model/feature_map';
import { layerOutputIn, runLayers, tensorsReadAcross } from '../../lib/model/graph';
import { buildFlattenModel, buildTinyBase } from './helpers';

type ST = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: ST | ST[]): ST => layer.apply(x) as ST;

before(async () => {
  await initEngine({ engine: 'wasm', quiet: true });
});

test('the last feature map: the one global pooling reads, the one Flatten reads; ambiguous branches throw', () => {
  const tiny = buildTinyBase({ top: true });
  const flat = buildFlattenModel();
  const input = tf.input({ shape: [8, 8, 3] });
  const a = apply(tf.layers.conv2d({ name: 'a', filters: 2, kernelSize: 1 }), input);
  const b = apply(tf.layers.conv2d({ name: 'b', filters: 2, kernelSize: 1 }), input);
  const merged = apply(tf.layers.concatenate({}), [apply(tf.layers.globalAveragePooling2d({}), a), apply(tf.layers.globalMaxPooling2d({}), b)]);
  const twoHeads = tf.model({ inputs: input, outputs: apply(tf.layers.dense({ units: 2 }), merged), name: 'two_heads' });
  try {
    assert.equal(lastFeatureMapLayer(tiny), 'out_relu');
    const maps = featureMapLayers(tiny);
    assert.equal(maps[0], 'Conv1_pad');
    assert.equal(maps[maps.length - 1], 'out_relu');
    assert.ok(!maps.includes('input_1') && !maps.includes('predictions'));
    assert.equal(lastFeatureMapLayer(flat), 'c1');
    assert.throws(() => lastFeatureMapLayer(twoHeads), /model 'two_heads' has several last feature maps \((a, b|b, a)\); name the one to explain with the 'layer' option/);
  } finally {
    tiny.dispose();
    flat.dispose();
    twoHeads.dispose();
  }
});

test('class scores: the logits before a softmax (Dense or Activation), else the output as it is', () => {
  const tiny = buildTinyBase({ top: true });
  const input = tf.input({ shape: [4] });
  const logits = apply(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), input);
  const withActivation = tf.model({ inputs: input, outputs: apply(tf.layers.activation({ activation: 'softmax' }), logits) });
  const sigmoid = tf.model({ inputs: input, outputs: apply(tf.layers.dense({ units: 3, activation: 'sigmoid' }), input) });
  const bare = buildTinyBase();
  try {
    const dense = classScoreOf(tiny);
    assert.equal(dense.kind, 'logit');
    assert.equal(dense.input.sourceLayer.name, 'global_average_pooling2d_1');
    tf.tidy(() => {
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
      const z = dense.score(runLayers([dense.input], new Map([[tiny.inputs[0].id, x]]))[0]);
      const p = tiny.predict(x) as tf.Tensor;
      assert.ok(tf.max(tf.abs(tf.sub(tf.softmax(z), p))).dataSync()[0] < 1e-6, 'softmax(logits) is the output');
    });
    assert.equal(classScoreOf(withActivation).kind, 'logit');
    assert.equal(classScoreOf(withActivation).input, logits);
    assert.equal(classScoreOf(sigmoid).kind, 'output');
    assert.throws(() => classScoreOf(bare), /must have one \[batch, classes\] output, got \[null, 8, 8, 24\]/);
  } finally {
    tiny.dispose();
    withActivation.dispose();
    sigmoid.dispose();
    bare.dispose();
  }
});

test('runLayers computes what predict does, leaves the graph as it was, and names a missing value', () => {
  const tiny = buildTinyBase({ top: true });
  try {
    const nodes = tiny.layers.map((l) => l.inboundNodes.length);
    tf.tidy(() => {
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 4);
      const [y] = runLayers(tiny.outputs, new Map([[tiny.inputs[0].id, x]]));
      assert.deepEqual(Array.from(y.dataSync()), Array.from((tiny.predict(x) as tf.Tensor).dataSync()));
    });
    assert.deepEqual(tiny.layers.map((l) => l.inboundNodes.length), nodes);
    assert.throws(() => runLayers(tiny.outputs, new Map()), /runLayers: layer 'Conv1_pad' needs the value of 'input_1', which was not given/);
  } finally {
    tiny.dispose();
  }
});

test('tensorsReadAcross: the cut, plus the start of a skip connection that crosses it', () => {
  const tiny = buildTinyBase();
  try {
    const names = (cut: string): string[] => tensorsReadAcross(tiny.outputs, layerOutputIn(tiny, cut)).map((t) => t.sourceLayer.name).sort();
    assert.deepEqual(names('block_1_expand_relu'), ['Conv1_relu', 'block_1_expand_relu']);
    assert.deepEqual(names('block_1_add'), ['block_1_add']);
  } finally {
    tiny.dispose();
  }
});
