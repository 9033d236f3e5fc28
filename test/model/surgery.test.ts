import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadBase } from '../../lib/model/bases';
import { batchNormMode } from '../../lib/model/batchnorm';
import { cutModelAt } from '../../lib/model/cut';
import { buildClassifier, freezeBase, HEAD_LAYERS, unfreezeFrom } from '../../lib/model/surgery';
import { summarizeModel } from '../../lib/model/summary';
import { networkFigure } from '../../lib/report/figures/network';
import type { LoadedBase } from '../../lib/model/types';
import { buildTinyBase, tempDir, writeModelDir } from './helpers';

const trainableNames = (m: tf.LayersModel): string[] => m.layers.filter((l) => l.trainable && l.weights.length).map((l) => l.name);

describe('surgery on a tiny MobileNetV2-named base', () => {
  let dir: string;
  let base: LoadedBase;

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    dir = tempDir('surgery');
    const tiny = buildTinyBase();
    await writeModelDir(tiny, dir);
    tiny.dispose();
    base = await loadBase({ base: path.join(dir, 'model.json'), quiet: true });
  });
  after(() => {
    base?.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('buildClassifier: stable head names, shapes, base frozen, base layers shared', () => {
    const m = buildClassifier(base, { numClasses: 3, hiddenUnits: 5 });
    try {
      const names = m.layers.map((l) => l.name);
      assert.equal(names[0], HEAD_LAYERS.input);
      assert.deepEqual(names.slice(-4), [HEAD_LAYERS.pool, HEAD_LAYERS.hidden, HEAD_LAYERS.dropout, HEAD_LAYERS.output]);
      assert.deepEqual(m.outputs[0].shape, [null, 3]);
      assert.ok(m.getLayer('block_1_expand') === base.model.getLayer('block_1_expand'));
      assert.deepEqual(trainableNames(m), [HEAD_LAYERS.hidden, HEAD_LAYERS.output]);
      assert.equal((m.getLayer(HEAD_LAYERS.dropout).getConfig() as { rate: number }).rate, 0.2);
      const out = tf.tidy(() => Array.from((m.predict(tf.ones([2, 32, 32, 3])) as tf.Tensor).sum(1).dataSync()));
      out.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5));
    } finally {
      m.dispose();
    }
  });

  test('head initializers are seeded: same seed, same weights; another seed, other weights', () => {
    const w = (seed: number): Float32Array => {
      const m = buildClassifier(base, { numClasses: 3, seed });
      const v = m.getLayer(HEAD_LAYERS.output).getWeights()[0].dataSync().slice() as Float32Array;
      m.dispose();
      return v;
    };
    assert.deepEqual(w(4), w(4));
    assert.notDeepEqual(w(4), w(5));
  });

  test('bad head options are refused', () => {
    assert.throws(() => buildClassifier(base, { numClasses: 1 }), /numClasses must be an integer >= 2/);
    assert.throws(() => buildClassifier(base, { numClasses: 3, dropout: 1 }), /dropout must be in \[0, 1\)/);
    assert.throws(() => buildClassifier(base, { numClasses: 3, hiddenUnits: -1 }), /hiddenUnits/);
  });

  test('unfreezeFrom snaps to whole blocks: by block name, layer name, number, fraction; freezeBase undoes it', () => {
    const m = buildClassifier(base, { numClasses: 3 });
    try {
      const b2 = ['block_2_expand', 'block_2_expand_BN', 'block_2_depthwise', 'block_2_depthwise_BN', 'block_2_project', 'block_2_project_BN'];
      const top = ['Conv_1', 'Conv_1_bn', HEAD_LAYERS.output];
      let r = unfreezeFrom(m, base, { from: 'block_2' });
      assert.equal(r.fromBlock.name, 'block_2');
      assert.deepEqual(r.trainableLayers, [...b2, ...top]);
      assert.deepEqual(trainableNames(m), r.trainableLayers);
      // A layer in the middle of block_2 unfreezes all of block_2.
      r = unfreezeFrom(m, base, { from: 'block_2_depthwise' });
      assert.deepEqual(r.trainableLayers, [...b2, ...top]);
      r = unfreezeFrom(m, base, { from: 3 });
      assert.deepEqual(r.trainableLayers, top);
      r = unfreezeFrom(m, base, { from: { fraction: 0.5 } });
      assert.equal(r.fromBlock.name, 'block_2');
      r = unfreezeFrom(m, base, { from: { fraction: 1 } });
      assert.equal(r.fromBlock.name, 'stem');
      assert.ok(m.layers.filter((l) => l.weights.length).every((l) => l.trainable));
      // BN stays in inference mode after unfreezing, unless asked; freezeBatchNorm keeps BN frozen entirely.
      assert.equal(batchNormMode(m.getLayer('Conv_1_bn')), 'inference');
      unfreezeFrom(m, base, { from: 'block_2', trainBatchNorm: true });
      assert.equal(batchNormMode(m.getLayer('Conv_1_bn')), 'training');
      assert.equal(batchNormMode(m.getLayer('bn_Conv1')), 'inference');
      r = unfreezeFrom(m, base, { from: 'block_2', freezeBatchNorm: true });
      assert.deepEqual(r.trainableLayers, ['block_2_expand', 'block_2_depthwise', 'block_2_project', 'Conv_1', HEAD_LAYERS.output]);
      freezeBase(m, base);
      assert.deepEqual(trainableNames(m), [HEAD_LAYERS.output]);
      assert.equal(batchNormMode(m.getLayer('Conv_1_bn')), 'inference');
    } finally {
      m.dispose();
    }
  });

  test('clear errors: unknown layer, block out of range, bad fraction (listing the valid blocks); a model of another base', () => {
    const m = buildClassifier(base, { numClasses: 3 });
    try {
      assert.throws(() => unfreezeFrom(m, base, { from: 'block_7' }), /'block_7' is neither a block nor a layer.*0 stem \(Conv1_pad\.\.Conv1_relu\); 1 block_1 .*3 last_conv/);
      assert.throws(() => unfreezeFrom(m, base, { from: 4 }), /block number 4 is out of range 0\.\.3.*block_2/);
      assert.throws(() => unfreezeFrom(m, base, { from: -1 }), /out of range/);
      assert.throws(() => unfreezeFrom(m, base, { from: { fraction: 0 } }), /fraction must be in \(0, 1\]/);
      const other = buildTinyBase({ seed: 9 });
      const fake: LoadedBase = { ...base, model: other };
      assert.throws(() => freezeBase(m, fake), /was not built from base/);
      other.dispose();
    } finally {
      m.dispose();
    }
  });

  test('cutModelAt: prefix then suffix equals the model; the suffix shares weights; a cut across a skip connection is refused', () => {
    const m = buildClassifier(base, { numClasses: 3, dropout: 0 });
    try {
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
      for (const cut of [HEAD_LAYERS.pool, 'block_1_add', 'block_2_project_BN']) {
        const { prefix, suffix } = cutModelAt(m, cut);
        const [whole, parts] = tf.tidy(() => [m.predict(x) as tf.Tensor, suffix.predict(prefix.predict(x) as tf.Tensor) as tf.Tensor]);
        assert.ok(whole.sub(parts).abs().max().dataSync()[0] < 1e-5, cut);
        tf.dispose([whole, parts]);
        assert.ok(suffix.getLayer(HEAD_LAYERS.output) === m.getLayer(HEAD_LAYERS.output));
        prefix.dispose();
        suffix.dispose();
      }
      x.dispose();
      assert.throws(() => cutModelAt(m, 'block_1_expand_relu'), /'block_1_add' after the cut also needs the output of 'Conv1_relu'/);
      assert.throws(() => cutModelAt(m, 'nope'), /unknown layer 'nope'.*Valid layer names: input_image, Conv1_pad/);
      // Disposing the parts and the classifier leaves the base usable.
      const y = tf.tidy(() => (base.model.predict(tf.ones([1, 32, 32, 3])) as tf.Tensor).shape);
      assert.deepEqual(y, [1, 8, 8, 24]);
    } finally {
      m.dispose();
    }
  });

  test('no tensor leaks across repeated buildClassifier / split / dispose', () => {
    const once = (): void => {
      const m = buildClassifier(base, { numClasses: 3, hiddenUnits: 4 });
      const { prefix, suffix } = cutModelAt(m, HEAD_LAYERS.pool);
      prefix.dispose();
      suffix.dispose();
      m.dispose();
    };
    once();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) once();
    assert.equal(tf.memory().numTensors, n);
    assert.doesNotThrow(() => tf.tidy(() => base.model.predict(tf.ones([1, 32, 32, 3]))));
  });

  test('summary and network figure: per-block trainable and frozen parameters', () => {
    const m = buildClassifier(base, { numClasses: 3 });
    try {
      unfreezeFrom(m, base, { from: 'block_2' });
      const s = summarizeModel(m, base);
      assert.deepEqual(s.blocks.map((b) => b.name), ['input', 'stem', 'block_1', 'block_2', 'last_conv', 'head']);
      assert.equal(s.totalParams, m.countParams());
      const bnStats = m.layers.filter((l) => l.getClassName() === 'BatchNormalization').reduce((a, l) => a + l.nonTrainableWeights.reduce((b, w) => b + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0), 0);
      const trainableCount = m.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
      assert.equal(s.trainableParams, trainableCount);
      assert.ok(bnStats > 0 && s.frozenParams >= bnStats);
      const byName = Object.fromEntries(s.blocks.map((b) => [b.name, b]));
      assert.equal(byName.stem.trainableParams, 0);
      assert.equal(byName.block_1.unfrozen, false);
      assert.equal(byName.block_2.unfrozen, true);
      assert.equal(byName.block_2.state, 'partial'); // moving statistics never train
      assert.equal(byName.head.state, 'trainable');
      assert.deepEqual(s.layers.find((l) => l.name === 'block_2_project')!.outputShape, [null, 8, 8, 12]);
      assert.equal(s.layers.find((l) => l.name === 'Conv_1_bn')!.batchNorm, 'inference');
      assert.match(s.text, /block_2 .*trainable/);
      assert.match(s.text, /stem .*frozen/);
      const fig = networkFigure(s);
      const [frozen, trainable] = fig.data as { name: string; x: string[]; y: number[] }[];
      assert.equal(frozen.name, 'frozen');
      assert.deepEqual(frozen.x, ['stem', 'block_1']);
      assert.deepEqual(trainable.x, ['block_2', 'last_conv', 'head']);
      assert.equal(trainable.y[2], byName.head.params);
    } finally {
      m.dispose();
    }
  });
});

describe('surgery on the embedded MobileNetV2', () => {
  let base: LoadedBase;
  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    base = await loadBase({ base: 'embedded', inputSize: 96, quiet: true });
  });
  after(() => base?.model.dispose());

  test('head on the embedded base, unfreeze from block_11, split at the pool and at a block end', () => {
    const m = buildClassifier(base, { numClasses: 3 });
    try {
      assert.deepEqual(m.outputs[0].shape, [null, 3]);
      const r = unfreezeFrom(m, base, { from: 'block_11' });
      assert.equal(r.fromBlock.index, 11);
      assert.equal(r.trainableLayers[0], 'block_11_expand');
      assert.ok(!r.trainableLayers.includes('block_10_project'));
      const s = summarizeModel(m, base);
      assert.equal(s.blocks.filter((b) => b.unfrozen).map((b) => b.name).join(','), 'block_11,block_12,block_13,block_14,block_15,block_16,last_conv,head');
      const x = tf.randomUniform([1, 96, 96, 3], 0, 1, 'float32', 1);
      for (const cut of [HEAD_LAYERS.pool, 'block_10_project_BN']) {
        const { prefix, suffix } = cutModelAt(m, cut);
        const d = tf.tidy(() => (m.predict(x) as tf.Tensor).sub(suffix.predict(prefix.predict(x) as tf.Tensor) as tf.Tensor).abs().max().dataSync()[0]);
        assert.ok(d < 1e-5, `${cut}: ${d}`);
        prefix.dispose();
        suffix.dispose();
      }
      x.dispose();
      assert.throws(() => cutModelAt(m, 'block_12_project_BN'), /block_12_add.*needs the output of 'block_11_add'/);
    } finally {
      m.dispose();
    }
  });
});
