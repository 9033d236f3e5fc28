import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, parseEngineChoice } from '../../lib/engine';

test('auto picks the best engine that loads and says why the others were skipped', async () => {
  const info = await initEngine({ engine: 'auto', quiet: true });
  assert.ok(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'].includes(info.engine));
  assert.equal(tf.getBackend(), info.tfBackend);
  if (info.engine === 'wasm') {
    assert.deepEqual(info.skipped.map((s) => s.engine), ['tensorflow-gpu', 'webgpu', 'tensorflow']);
    assert.match(info.summary, /tensorflow-gpu: .*not installed|tensorflow-gpu: .*failed/);
  }
});

test('initEngine is idempotent', async () => {
  const a = await initEngine({ engine: 'wasm', quiet: true });
  const before = tf.memory().numTensors;
  const b = await initEngine({ engine: 'wasm', quiet: true });
  assert.equal(a, b);
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(tf.memory().numTensors, before);
});

test('switching engines works both ways', async () => {
  assert.equal((await initEngine({ engine: 'cpu', quiet: true })).engine, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal((await initEngine({ engine: 'wasm', quiet: true })).engine, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
});

test('an explicit engine that cannot load is an error, not a fallback', async () => {
  let native = true;
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    native = false;
  }
  if (native) return;
  await assert.rejects(initEngine({ engine: 'tensorflow', quiet: true }), /engine 'tensorflow' cannot be used: .*not installed/);
  assert.equal(tf.getBackend(), 'wasm');
});

test('the environment variable is read and validated (RPS_ENGINE, else its older name RPS_BACKEND)', async () => {
  const saved = { RPS_ENGINE: process.env.RPS_ENGINE, RPS_BACKEND: process.env.RPS_BACKEND };
  try {
    delete process.env.RPS_ENGINE;
    process.env.RPS_BACKEND = 'cpu';
    assert.equal((await initEngine({ quiet: true })).engine, 'cpu');
    process.env.RPS_ENGINE = 'wasm';
    assert.equal((await initEngine({ quiet: true })).engine, 'wasm');
    process.env.RPS_ENGINE = 'tpu';
    await assert.rejects(initEngine({ quiet: true }), /RPS_ENGINE: unknown engine 'tpu'/);
    delete process.env.RPS_ENGINE;
    process.env.RPS_BACKEND = 'tpu';
    await assert.rejects(initEngine({ quiet: true }), /RPS_BACKEND: unknown engine 'tpu'/);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  assert.throws(() => parseEngineChoice('gpu'), /expected one of auto, tensorflow-gpu/);
});

test("the cpu engine does not print tfjs's install-tfjs-node banner (a fresh process, where it would)", () => {
  const code = [
    "const tf = require('@tensorflow/tfjs');",
    "const { initEngine } = require('./lib/engine/engine');",
    "initEngine({ engine: 'cpu' }).then(() => { tf.tensor([1, 2]).dataSync(); console.log('wrote'); });",
  ].join('\n');
  const run = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', '-e', code], {
    cwd: path.resolve(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /engine: cpu \[pure JavaScript\][\s\S]*wrote/);
  assert.doesNotMatch(run.stdout + run.stderr, /looks like you are running TensorFlow\.js in Node\.js/);
});
