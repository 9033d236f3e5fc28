import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadBase } from '../../lib/model/bases';
import { batchNormMode } from '../../lib/model/batchnorm';
import { BASE_REGISTRY, findBaseEntry } from '../../lib/model/registry';
import type { LoadedBase } from '../../lib/model/types';
import { buildFlattenModel, buildTinyBase, serveDir, tempDir, writeModelDir, type StaticServer } from './helpers';

// Model files served under the paths of a fake remote host; `mirror` points the loader at the local server.
const REMOTE = 'https://models.example.invalid';
const V2_PATH = new URL(findBaseEntry('mobilenet_v2_1.00')!.url!).pathname;

describe('loadBase', () => {
  let root: string;
  let server: StaticServer;
  let embedded: LoadedBase;

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    root = tempDir('serve');
    const tiny = buildTinyBase({ top: true });
    await writeModelDir(tiny, path.join(root, 'tiny'));
    await writeModelDir(tiny, path.join(root, path.dirname(V2_PATH)));
    await writeModelDir(tiny, path.join(root, 'broken'));
    fs.rmSync(path.join(root, 'broken', 'group1-shard2of2.bin'));
    tiny.dispose();
    const flat = buildFlattenModel();
    await writeModelDir(flat, path.join(root, 'flat'), 1);
    flat.dispose();
    fs.mkdirSync(path.join(root, 'graph'));
    fs.writeFileSync(path.join(root, 'graph', 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    server = await serveDir(root);
    embedded = await loadBase({ base: 'embedded', quiet: true });
  });

  after(async () => {
    embedded?.model.dispose();
    await server?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('embedded base: offline, [7,7,1280] at 224, MobileNetV2 blocks, frozen, BN in inference mode', () => {
    assert.deepEqual(embedded.model.outputs[0].shape, [null, 7, 7, 1280]);
    assert.equal(embedded.spec.cutLayer, 'out_relu');
    assert.deepEqual(embedded.spec.pixelRange, [0, 1]);
    assert.equal(embedded.spec.online, false);
    assert.equal(embedded.spec.blocks.length, 18);
    assert.equal(embedded.spec.blocks[0].name, 'stem');
    assert.equal(embedded.spec.blocks[11].name, 'block_11');
    assert.equal(embedded.spec.blocks[17].name, 'last_conv');
    assert.deepEqual(embedded.spec.blocks[17].layers, ['Conv_1', 'Conv_1_bn', 'out_relu']);
    assert.match(embedded.spec.provenance, /nsfwjs.*ImageNet.*block_11/s);
    assert.ok(embedded.model.layers.every((l) => !l.trainable));
    const bns = embedded.model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    assert.equal(bns.length, 52);
    assert.ok(bns.every((l) => batchNormMode(l) === 'inference'));
    // The classifier layers of the nsfwjs model were cut away before they allocated weights.
    assert.ok(!embedded.model.layers.some((l) => l.getClassName() === 'Dense'));
    // Keras MobileNetV2 1.0 without top has 2,257,984 parameters.
    assert.equal(embedded.model.countParams(), 2257984);
    const y = tf.tidy(() => (embedded.model.predict(tf.fill([1, 224, 224, 3], 0.5)) as tf.Tensor).shape);
    assert.deepEqual(y, [1, 7, 7, 1280]);
  });

  test('embedded base at another input size: 160 px gives [5,5,1280]; 150 px is refused', async () => {
    const b = await loadBase({ base: 'embedded', inputSize: 160, quiet: true });
    try {
      assert.equal(b.spec.inputSize, 160);
      assert.deepEqual(b.model.outputs[0].shape, [null, 5, 5, 1280]);
    } finally {
      b.model.dispose();
    }
    await assert.rejects(loadBase({ base: 'embedded', inputSize: 150, quiet: true }), /input size mismatch.*multiple of 32/);
  });

  test('a model.json URL through the mirror: downloaded once (all shards) into the cache, cut, frozen', async () => {
    const cacheDir = tempDir('cache');
    try {
      const url = `${REMOTE}/tiny/model.json`;
      const b = await loadBase({ base: url, mirror: server.url, cacheDir, quiet: true, cutLayer: 'out_relu', pixelRange: [0, 1] });
      assert.deepEqual(b.model.outputs[0].shape, [null, 8, 8, 24]);
      assert.deepEqual(b.spec.blocks.map((x) => x.name), ['stem', 'block_1', 'block_2', 'last_conv']);
      assert.deepEqual(b.spec.blocks[1].layers.at(-1), 'block_1_add');
      assert.ok(!b.model.layers.some((l) => l.name === 'predictions'));
      assert.ok(b.model.layers.every((l) => !l.trainable));
      assert.equal(b.spec.online, true);
      const seen = server.requests.filter((r) => r.startsWith('/tiny/'));
      assert.deepEqual(seen.sort(), ['/tiny/group1-shard1of2.bin', '/tiny/group1-shard2of2.bin', '/tiny/model.json']);
      const cached = fs.readdirSync(path.join(cacheDir, 'bases'));
      assert.equal(cached.length, 1);
      assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'bases', cached[0])).sort(), ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'integrity.json', 'model.json']);
      b.model.dispose();
      // Second load: from the cache, no request.
      const before = server.requests.length;
      const again = await loadBase({ base: url, mirror: server.url, cacheDir, quiet: true, cutLayer: 'out_relu' });
      assert.equal(server.requests.length, before);
      again.model.dispose();
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('a local model.json with the default cut keeps the whole model; input size of a fully convolutional cut can change', async () => {
    const file = path.join(root, 'tiny', 'model.json');
    const whole = await loadBase({ base: file, quiet: true });
    assert.equal(whole.spec.cutLayer, 'predictions');
    assert.deepEqual(whole.model.outputs[0].shape, [null, 5]);
    whole.model.dispose();
    // Global pooling before the Dense top makes the whole model size-independent.
    const wide = await loadBase({ base: file, inputSize: 64, quiet: true });
    assert.deepEqual(wide.model.inputs[0].shape, [null, 64, 64, 3]);
    wide.model.dispose();
    const big = await loadBase({ base: file, cutLayer: 'out_relu', inputSize: 64, quiet: true });
    assert.deepEqual(big.model.outputs[0].shape, [null, 16, 16, 24]);
    big.model.dispose();
    // Loading and disposing leaves no tensors behind.
    const n = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) (await loadBase({ base: file, cutLayer: 'out_relu', quiet: true })).model.dispose();
    assert.equal(tf.memory().numTensors, n);
  });

  test("base 'auto' picks the online MobileNetV2 when its host answers, else the embedded base", async () => {
    const cacheDir = tempDir('auto');
    try {
      const online = await loadBase({ base: 'auto', mirror: server.url, cacheDir, quiet: true });
      assert.equal(online.spec.id, 'mobilenet_v2_1.00');
      assert.deepEqual(online.spec.pixelRange, [-1, 1]);
      assert.ok(server.requests.includes(V2_PATH));
      online.model.dispose();
      const closed = await serveDir(root);
      const deadUrl = closed.url;
      await closed.close();
      const emptyCache = tempDir('auto-empty');
      const offline = await loadBase({ base: 'auto', mirror: deadUrl, cacheDir: emptyCache, quiet: true, reachTimeoutMs: 500 });
      fs.rmSync(emptyCache, { recursive: true, force: true });
      assert.equal(offline.spec.id, 'embedded');
      offline.model.dispose();
      // Once cached, auto uses the cache even when the host is gone.
      const cached = await loadBase({ base: 'auto', mirror: deadUrl, cacheDir, quiet: true, reachTimeoutMs: 500 });
      assert.equal(cached.spec.id, 'mobilenet_v2_1.00');
      cached.model.dispose();
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('clear errors: missing shard (local and remote, nothing cached), GraphModel, unknown base, unknown cut layer, fixed input size', async () => {
    await assert.rejects(loadBase({ base: path.join(root, 'broken', 'model.json'), quiet: true }), /weight shard 'group1-shard2of2.bin'.*missing/);
    const cacheDir = tempDir('broken');
    try {
      await assert.rejects(
        loadBase({ base: `${REMOTE}/broken/model.json`, mirror: server.url, cacheDir, quiet: true }),
        /weight shard 'group1-shard2of2.bin'.*could not be downloaded.*404/,
      );
      // Only the hidden download folder, kept so that a later run resumes.
      assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'bases')).filter((n) => !n.startsWith('.')), []);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
    await assert.rejects(loadBase({ base: path.join(root, 'graph', 'model.json'), quiet: true }), /GraphModel.*cannot be cut, frozen or fine-tuned/s);
    await assert.rejects(loadBase({ base: 'mobilenet_v3', quiet: true }), (err: Error) => {
      assert.match(err.message, /unknown base 'mobilenet_v3'/);
      for (const b of BASE_REGISTRY) assert.ok(err.message.includes(b.id), b.id);
      return true;
    });
    await assert.rejects(loadBase({ base: path.join(root, 'tiny'), cutLayer: 'block_9_add', quiet: true }), /unknown cut layer 'block_9_add'.*Valid layer names: .*block_1_add/);
    await assert.rejects(loadBase({ base: path.join(root, 'flat'), inputSize: 16, quiet: true }), /input size mismatch.*'flat' \(Flatten\)/);
    await assert.rejects(loadBase({ base: 'embedded', cutLayer: 'block_5_add', quiet: true }), /cutLayer is for custom/);
  });

  test('weights whose shapes do not fit the topology: the layer is named, also when the input size changes', async () => {
    const misfit = path.join(root, 'misfit');
    fs.cpSync(path.join(root, 'tiny'), misfit, { recursive: true });
    const json = JSON.parse(fs.readFileSync(path.join(misfit, 'model.json'), 'utf8'));
    // Same number of values (so the byte count fits), transposed shape.
    json.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'block_1_expand/kernel').shape = [1, 1, 16, 8];
    fs.writeFileSync(path.join(misfit, 'model.json'), JSON.stringify(json));
    const expected = `${path.join(misfit, 'model.json')}: the weights do not fit the topology: layer 'block_1_expand' takes 'block_1_expand/kernel' of shape [1, 1, 8, 16], but weightsManifest gives it shape [1, 1, 16, 8]`;
    for (const inputSize of [undefined, 64]) {
      await assert.rejects(loadBase({ base: misfit, cutLayer: 'out_relu', inputSize, quiet: true }), (err: Error) => {
        assert.equal(err.message, expected);
        return true;
      });
    }
  });

  test('the registry: every online base has its URL, [-1, 1] input and a cut layer', () => {
    const ids = BASE_REGISTRY.map((b) => b.id);
    assert.deepEqual(ids, [
      'embedded',
      'mobilenet_v2_0.35', 'mobilenet_v2_0.50', 'mobilenet_v2_0.75', 'mobilenet_v2_1.00',
      'mobilenet_v1_0.25', 'mobilenet_v1_0.50', 'mobilenet_v1_0.75', 'mobilenet_v1_1.0',
    ]);
    for (const b of BASE_REGISTRY.slice(1)) {
      assert.match(b.url!, /^https:\/\/storage\.googleapis\.com\/.*\/model\.json$/);
      assert.deepEqual(b.pixelRange, [-1, 1]);
    }
    assert.equal(findBaseEntry('mobilenet_v1_0.25')!.cutLayer, 'conv_pw_13_relu');
  });
});
