/** `npm run demo -- --export`, in-process (the page itself is tested in Chromium: test/browser/demo.test.ts). */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initEngine } from '../../lib/engine/engine';
import { demoMain } from '../../lib/cli/demo';
import { tempDir } from '../model/helpers';
import { capture, saveTinyClassifier } from './fixtures';

describe('npm run demo -- --export', () => {
  let dir: string;
  let model: string;

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    dir = tempDir('demo-cli');
    model = path.join(dir, 'model');
    await saveTinyClassifier(model);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes the page, its bundled script, tfjs with its wasm files and the model; replaces an earlier export', async () => {
    const out = path.join(dir, 'site');
    for (let i = 0; i < 2; i++) {
      const r = await capture(demoMain, ['--model', model, '--export', out]);
      assert.equal(r.code, 0, r.err);
    }
    const files = fs.readdirSync(out, { recursive: true }).map(String).sort();
    assert.deepEqual(files, [
      'app.js',
      'index.html',
      'model',
      'model/metadata.json',
      'model/model.json',
      'model/weights.bin',
      'tfjs',
      'tfjs/tf-backend-wasm.min.js',
      'tfjs/tf.min.js',
      'tfjs/tfjs-backend-wasm-simd.wasm',
      'tfjs/tfjs-backend-wasm-threaded-simd.wasm',
      'tfjs/tfjs-backend-wasm.wasm',
    ]);
    for (const f of ['model.json', 'metadata.json', 'weights.bin']) assert.ok(fs.readFileSync(path.join(out, 'model', f)).equals(fs.readFileSync(path.join(model, f))));
    // The training code's resize is bundled into the page's script, not re-written.
    const app = fs.readFileSync(path.join(out, 'app.js'), 'utf8');
    assert.match(app, /function resizeRgbaOnWhite\(/);
    assert.match(app, /lib\/data\/resize\.ts/);
    assert.doesNotMatch(fs.readFileSync(path.join(out, 'index.html'), 'utf8'), /(src|href)="(https?:)?\/\//);
  });

  test('refuses to replace a folder that is not an earlier export; a broken model writes nothing', async () => {
    const mine = path.join(dir, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'thesis.tex'), 'precious');
    const r = await capture(demoMain, ['--model', model, '--export', mine]);
    assert.equal(r.code, 1);
    assert.match(r.err, /mine is not empty and not an earlier demo export/);
    assert.deepEqual(fs.readdirSync(mine), ['thesis.tex']);

    const out = path.join(dir, 'never');
    const bad = await capture(demoMain, ['--model', path.join(dir, 'nothing'), '--export', out]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /model folder not found: .*nothing/);
    assert.ok(!fs.existsSync(out));
  });
});
