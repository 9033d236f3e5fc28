/**
 * The small pipeline end to end on webgpu through the CLI (`npm run train -- --backend webgpu ...`): rendered data,
 * the embedded base at 32 px, one epoch per phase; then the saved classifier loads and classifies on webgpu.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadClassifier } from '../../lib/model/persist';
import { predictImage } from '../../lib/model/predict';
import { describeWebGpu } from './webgpu_group';

const ROOT = path.resolve(__dirname, '..', '..');

/** The first PNG under `dir`, depth first. */
function firstPng(dir: string): string | undefined {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const found = firstPng(p);
      if (found) return found;
    } else if (e.name.endsWith('.png')) {
      return p;
    }
  }
  return undefined;
}

describeWebGpu('webgpu: the CLI pipeline', () => {
  test('npm run train -- --backend webgpu trains both phases, evaluates and saves; the model classifies on webgpu', { timeout: 480_000 }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-webgpu-cli-'));
    try {
      const out = path.join(tmp, 'out');
      const cache = path.join(tmp, 'cache');
      const args = ['--backend', 'webgpu', '--data', 'rendered', '--render-train', '30', '--render-test', '15', '--image-size', '32'];
      args.push('--epochs', '1', '--fine-tune-epochs', '1', '--no-augment', '--base', 'embedded', '--cache-dir', cache, '--out', out, '--progress', 'lines');
      const run = spawnSync(process.execPath, ['--require', 'ts-node/register', 'lib/cli/train.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
        encoding: 'utf8',
        timeout: 420_000,
      });
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^engine: webgpu \[/m);
      assert.match(run.stdout, /after fine-tuning from block_11, test set:/);
      const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { engine: string; headTestAccuracy: number; fineTuneTestAccuracy: number };
      assert.match(metrics.engine, /^engine: webgpu/);
      for (const a of [metrics.headTestAccuracy, metrics.fineTuneTestAccuracy]) assert.ok(a >= 0 && a <= 1, String(a));

      await initEngine({ engine: 'webgpu', quiet: true });
      const clf = await loadClassifier(path.join(out, 'model'));
      try {
        const image = firstPng(cache);
        assert.ok(image, 'the rendered images are in the cache');
        const first = await predictImage(clf, image);
        const before = tf.memory().numTensors;
        const again = await predictImage(clf, image);
        assert.equal(tf.memory().numTensors, before);
        assert.ok(clf.metadata.classes.includes(first.label));
        assert.ok(Math.abs(Object.values(first.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-5);
        assert.deepEqual(again, first);
      } finally {
        clf.model.dispose();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
