/** `npm run predict`, in-process: table and JSON output, folders, bad files, model folders and their errors. */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadClassifier } from '../../lib/model/persist';
import { predictImage } from '../../lib/model/predict';
import { predictMain } from '../../lib/cli/predict';
import { pngBytes, writeClassFolders } from '../data/fixtures';
import { tempDir } from '../model/helpers';
import { CLASSES, capture, saveTinyClassifier } from './fixtures';

describe('npm run predict', () => {
  let dir: string;
  let model: string;
  let images: string[];

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    dir = tempDir('predict');
    model = path.join(dir, 'model');
    await saveTinyClassifier(model);
    images = writeClassFolders(path.join(dir, 'images'), { a: 2, b: 2 }, 40);
    fs.writeFileSync(path.join(dir, 'images', 'a', 'notes.txt'), 'not an image');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('JSON: every image of a folder walked recursively, with predictImage\'s probabilities; no tensors left', async () => {
    const before = tf.memory().numTensors;
    const r = await capture(predictMain, ['--model', model, '--json', path.join(dir, 'images')]);
    assert.equal(r.code, 0, r.err);
    assert.equal(tf.memory().numTensors, before);
    const json = JSON.parse(r.out);
    assert.equal(json.model, model);
    assert.deepEqual(json.classes, CLASSES);
    assert.deepEqual(json.predictions.map((p: { file: string }) => p.file), images);
    const clf = await loadClassifier(model);
    try {
      for (const p of json.predictions) {
        const expected = await predictImage(clf, p.file);
        assert.deepEqual(p.probabilities, expected.probabilities);
        assert.equal(p.label, expected.label);
      }
    } finally {
      clf.model.dispose();
    }
    assert.deepEqual(json.skipped, [{ file: path.join(dir, 'images', 'a', 'notes.txt'), reason: 'not a .png/.jpg/.jpeg file' }]);
    assert.match(r.err, /skipped .*notes\.txt: not a \.png\/\.jpg\/\.jpeg file/);
  });

  test('table: a row per image with the label and every class; bad files reported by name and skipped', async () => {
    const bad = path.join(dir, 'broken.png');
    fs.writeFileSync(bad, pngBytes(20, 20, 1).subarray(0, 60));
    const fake = path.join(dir, 'fake.jpg');
    fs.writeFileSync(fake, 'hello');
    const r = await capture(predictMain, ['--model', model, images[0], bad, fake, path.join(dir, 'missing.png')]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.match(lines[0], /^file\s+label\s+rock\s+paper\s+scissors$/);
    assert.equal(lines.length, 3);
    assert.ok(lines[2].startsWith(images[0]));
    assert.match(lines[2], /\s(rock|paper|scissors)\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}$/);
    assert.match(r.err, /skipped .*broken\.png: truncated PNG/);
    assert.match(r.err, /skipped .*fake\.jpg: not a PNG or JPEG file/);
    assert.match(r.err, /skipped .*missing\.png: not found/);
  });

  test('exit code 1 when nothing could be classified', async () => {
    const r = await capture(predictMain, ['--model', model, path.join(dir, 'images', 'a', 'notes.txt')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no image could be classified \(1 file\(s\) skipped\)/);
  });

  test('--model takes npm run train\'s --out folder and a notebook run folder', async () => {
    const trainOut = path.join(dir, 'train-out');
    fs.cpSync(model, path.join(trainOut, 'model'), { recursive: true });
    const run = path.join(dir, 'runs', 'abc');
    fs.cpSync(model, path.join(run, 'head', 'classifier'), { recursive: true });
    fs.cpSync(model, path.join(run, 'fine-tune', 'classifier'), { recursive: true });
    for (const [arg, used] of [
      [trainOut, path.join(trainOut, 'model')],
      [run, path.join(run, 'fine-tune', 'classifier')],
      [path.join(run, 'head'), path.join(run, 'head', 'classifier')],
    ]) {
      const r = await capture(predictMain, ['--model', arg, '--json', images[0]]);
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).model, used);
    }
  });

  test('a missing, empty or broken model folder is a clear error naming it', async () => {
    const cases: [string, (d: string) => void, RegExp][] = [
      ['missing', () => undefined, /model folder not found: .*missing/],
      ['empty', (d) => fs.mkdirSync(d), /no saved classifier in .*empty: expected metadata\.json/],
      ['bad-json', (d) => (fs.cpSync(model, d, { recursive: true }), fs.writeFileSync(path.join(d, 'model.json'), '{ nope')), /cannot load the classifier in .*bad-json: .*model\.json/],
      ['no-weights', (d) => (fs.cpSync(model, d, { recursive: true }), fs.rmSync(path.join(d, 'weights.bin'))), /cannot load the classifier in .*no-weights: .*weights\.bin/],
      [
        'short-weights',
        (d) => {
          fs.cpSync(model, d, { recursive: true });
          const w = path.join(d, 'weights.bin');
          fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 100));
        },
        /cannot load the classifier in .*short-weights/,
      ],
    ];
    for (const [name, make, expected] of cases) {
      const d = path.join(dir, 'bad', name);
      fs.mkdirSync(path.dirname(d), { recursive: true });
      make(d);
      const r = await capture(predictMain, ['--model', d, images[0]]);
      assert.equal(r.code, 1, name);
      assert.match(r.err, expected, name);
      assert.equal(r.out, '', name);
    }
  });

  test('flags: --model is required, an unknown engine is refused', async () => {
    assert.notEqual((await capture(predictMain, [images[0]])).code, 0);
    const r = await capture(predictMain, ['--model', model, '--engine', 'gpu9', images[0]]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /unknown engine 'gpu9'/);
  });
});
