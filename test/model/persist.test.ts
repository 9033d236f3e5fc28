import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadBase } from '../../lib/model/bases';
import { batchNormMode } from '../../lib/model/batchnorm';
import { loadClassifier, saveClassifier } from '../../lib/model/persist';
import { predictImage, predictPixels } from '../../lib/model/predict';
import { cutModelAt } from '../../lib/model/cut';
import { buildClassifier, HEAD_LAYERS, unfreezeFrom } from '../../lib/model/surgery';
import type { LoadedBase } from '../../lib/model/types';
import { encodePng } from '../../lib/util/png';
import { buildTinyBase, tempDir, writeModelDir } from './helpers';

// Keras layer classes that tensorflowjs_converter turns back into Keras without custom objects.
const STANDARD = new Set(['InputLayer', 'ZeroPadding2D', 'Conv2D', 'BatchNormalization', 'ReLU', 'DepthwiseConv2D', 'Add', 'GlobalAveragePooling2D', 'Dense', 'Dropout']);
const CLASSES = ['rock', 'paper', 'scissors'];

describe('saveClassifier / loadClassifier / predict', () => {
  let dir: string;
  let base: LoadedBase;
  let model: tf.LayersModel;

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    dir = tempDir('persist');
    const tiny = buildTinyBase();
    await writeModelDir(tiny, path.join(dir, 'base'));
    tiny.dispose();
    base = await loadBase({ base: path.join(dir, 'base', 'model.json'), quiet: true });
    model = buildClassifier(base, { numClasses: 3, hiddenUnits: 6, seed: 2 });
    unfreezeFrom(model, base, { from: 'block_2' });
    // A split first: base layers then have several inbound nodes, which the saved topology must not show.
    const { prefix, suffix } = cutModelAt(model, HEAD_LAYERS.pool);
    prefix.dispose();
    suffix.dispose();
  });
  after(() => {
    model?.dispose();
    base?.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('save then load: same predictions, metadata kept, standard Keras layers only, written atomically', async () => {
    const out = path.join(dir, 'out', 'classifier');
    const meta = await saveClassifier(model, out, { classes: CLASSES, inputSize: 32, pixelRange: [0, 1], base: base.spec.id, note: 'test' });
    assert.deepEqual(fs.readdirSync(out).sort(), ['metadata.json', 'model.json', 'weights.bin']);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['classifier']);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    const layers = json.modelTopology.config.layers as { class_name: string; inbound_nodes: unknown[] }[];
    assert.deepEqual(layers.filter((l) => !STANDARD.has(l.class_name)), []);
    assert.ok(layers.every((l) => l.inbound_nodes.length <= 1));
    const loaded = await loadClassifier(out);
    try {
      assert.deepEqual(loaded.metadata, meta);
      assert.equal(loaded.metadata.note, 'test');
      assert.deepEqual(loaded.model.layers.map((l) => l.name), model.layers.map((l) => l.name));
      const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 5);
      const [a, b] = tf.tidy(() => [model.predict(x) as tf.Tensor, loaded.model.predict(x) as tf.Tensor]);
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
      tf.dispose([x, a, b]);
      assert.equal(batchNormMode(loaded.model.getLayer('Conv_1_bn')), 'inference');
      // Saving again replaces the folder.
      await saveClassifier(model, out, { classes: ['a', 'b', 'c'], inputSize: 32, pixelRange: [0, 1], base: 'x' });
      assert.deepEqual((await loadClassifier(out).then((c) => (c.model.dispose(), c.metadata))).classes, ['a', 'b', 'c']);
    } finally {
      loaded.model.dispose();
    }
  });

  test('predictImage on a PNG file and on its bytes; predictPixels leaks no tensors', async () => {
    const out = path.join(dir, 'predict');
    await saveClassifier(model, out, { classes: CLASSES, inputSize: 32, pixelRange: [-1, 1], base: base.spec.id });
    const clf = await loadClassifier(out);
    try {
      const rgb = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 256);
      const png = path.join(dir, 'img.png');
      fs.writeFileSync(png, encodePng(rgb, 64, 64));
      const p1 = await predictImage(clf, png);
      const p2 = await predictImage(clf, fs.readFileSync(png));
      assert.deepEqual(p1, p2);
      assert.deepEqual(Object.keys(p1.probabilities), CLASSES);
      const sum = Object.values(p1.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
      assert.equal(p1.label, CLASSES[p1.index]);
      assert.equal(Math.max(...Object.values(p1.probabilities)), p1.probabilities[p1.label]);
      // Same as the in-memory model fed the same scaling.
      const small = new Uint8Array(32 * 32 * 3).fill(200);
      const expected = tf.tidy(() => Array.from((model.predict(tf.fill([1, 32, 32, 3], (200 / 255) * 2 - 1)) as tf.Tensor).dataSync()));
      const got = await predictPixels(clf, small);
      CLASSES.forEach((c, i) => assert.ok(Math.abs(got.probabilities[c] - expected[i]) < 1e-5));
      const n = tf.memory().numTensors;
      await predictPixels(clf, small);
      assert.equal(tf.memory().numTensors, n);
      await assert.rejects(predictPixels(clf, new Uint8Array(10)), /input size mismatch: expected 32x32 RGB/);
    } finally {
      clf.model.dispose();
    }
  });

  test('clear errors: wrong class count, input size mismatch, not a classifier folder, missing weights', async () => {
    const out = path.join(dir, 'bad');
    await assert.rejects(saveClassifier(model, out, { classes: ['a', 'b'], inputSize: 32, pixelRange: [0, 1], base: 'x' }), /2 classes given but the model outputs 3/);
    await assert.rejects(saveClassifier(model, out, { classes: CLASSES, inputSize: 64, pixelRange: [0, 1], base: 'x' }), /input size mismatch.*inputSize 64 but the model takes 32x32/);
    await assert.rejects(saveClassifier(model, out, { classes: CLASSES, inputSize: 32, pixelRange: [1, 0], base: 'x' }), /pixelRange/);
    assert.ok(!fs.existsSync(out));
    await assert.rejects(loadClassifier(path.join(dir, 'base')), /not a saved classifier \(no metadata.json\)/);
    const ok = path.join(dir, 'noweights');
    await saveClassifier(model, ok, { classes: CLASSES, inputSize: 32, pixelRange: [0, 1], base: 'x' });
    fs.rmSync(path.join(ok, 'weights.bin'));
    await assert.rejects(loadClassifier(ok), /weight shard 'weights.bin' listed in weightsManifest is missing/);
  });
});

describe('loadClassifier and predictImage on damaged files and broken models', () => {
  let dir: string;
  let base: LoadedBase;
  let model: tf.LayersModel;
  let saved: string;

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    dir = tempDir('damaged');
    const tiny = buildTinyBase();
    await writeModelDir(tiny, path.join(dir, 'base'));
    tiny.dispose();
    base = await loadBase({ base: path.join(dir, 'base', 'model.json'), quiet: true });
    model = buildClassifier(base, { numClasses: 3, hiddenUnits: 6, seed: 2 });
    saved = path.join(dir, 'good');
    await saveClassifier(model, saved, { classes: CLASSES, inputSize: 32, pixelRange: [0, 1], base: 'x' });
  });
  after(() => {
    model?.dispose();
    base?.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the saved classifier with its weights.bin changed by `damage`. */
  function damagedCopy(name: string, damage: (bytes: Buffer) => Buffer): string {
    const out = path.join(dir, name);
    fs.cpSync(saved, out, { recursive: true });
    const bin = path.join(out, 'weights.bin');
    fs.writeFileSync(bin, damage(fs.readFileSync(bin)));
    return out;
  }

  test('a truncated, oversized or NaN-filled weights.bin is refused naming weights.bin', async () => {
    const n = fs.statSync(path.join(saved, 'weights.bin')).size;
    const cut = damagedCopy('cut', (b) => b.subarray(0, b.length - 100));
    await assert.rejects(loadClassifier(cut), (err: Error) => {
      assert.equal(err.message, `${path.join(cut, 'model.json')}: weight shard 'weights.bin' holds ${n - 100} bytes but weightsManifest describes ${n} (truncated); the file is damaged or belongs to another model`);
      return true;
    });
    await assert.rejects(loadClassifier(damagedCopy('long', (b) => Buffer.concat([b, Buffer.alloc(8)]))), /weight shard 'weights\.bin' holds \d+ bytes but weightsManifest describes \d+ \(extra bytes\)/);
    const nan = damagedCopy('nan', (b) => {
      const out = Buffer.from(b);
      out.writeFloatLE(NaN, out.length - 8);
      return out;
    });
    await assert.rejects(loadClassifier(nan), new RegExp(`^Error: ${escape(path.join(nan, 'weights.bin'))}: weight '[^']+' holds NaN \\(a usable weight is finite and at most 1000000 in magnitude\\)`));
    const huge = damagedCopy('huge', (b) => Buffer.from(new Float32Array(b.length / 4).fill(1e30).buffer));
    await assert.rejects(loadClassifier(huge), /weights\.bin: weight '[^']+' holds 1\.0000000150474662e\+30/);
  });

  test('a model whose outputs are not finite gives an error naming its folder, never a label', async () => {
    const clf = await loadClassifier(saved);
    try {
      const png = path.join(dir, 'img.png');
      fs.writeFileSync(png, encodePng(new Uint8Array(32 * 32 * 3).fill(90), 32, 32));
      assert.equal((await predictImage(clf, png)).label.length > 0, true);
      const dense = clf.model.getLayer(HEAD_LAYERS.output);
      dense.setWeights(dense.getWeights().map((w) => tf.tidy(() => tf.fill(w.shape, NaN))));
      await assert.rejects(predictImage(clf, png, { tta: 1 }), (err: Error) => {
        assert.equal(
          err.message,
          `the model in ${saved} gives non-finite outputs [NaN, NaN, NaN] for ${png}: its weights are broken (did training diverge? a too high learning rate does that); train it again`,
        );
        return true;
      });
      // Averaged over the default test-time views (the engine may turn a mean of NaNs into -Infinity): still refused.
      await assert.rejects(predictPixels({ ...clf, dir: undefined }, new Uint8Array(32 * 32 * 3)), /model '.+' gives non-finite outputs \[(NaN|-?Infinity)(, (NaN|-?Infinity)){2}\] for the image/);
    } finally {
      clf.model.dispose();
    }
  });

  test("predictImage on a text file or a truncated PNG says what is wrong in the validator's words, naming the file", async () => {
    const clf = await loadClassifier(saved);
    try {
      const text = path.join(dir, 'notes.txt');
      fs.writeFileSync(text, 'not an image');
      await assert.rejects(predictImage(clf, text), new RegExp(`^Error: cannot decode image ${escape(text)}: not a PNG or JPEG file$`));
      const png = encodePng(new Uint8Array(40 * 40 * 3).map((_, i) => (i * 31) % 256), 40, 40);
      const cut = path.join(dir, 'cut.png');
      fs.writeFileSync(cut, png.subarray(0, png.length - 40));
      await assert.rejects(predictImage(clf, cut), new RegExp(`^Error: cannot decode image ${escape(cut)}: truncated PNG \\(chunk IDAT runs past the end\\)$`));
    } finally {
      clf.model.dispose();
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
