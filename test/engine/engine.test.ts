import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, parseEngineChoice } from '../../lib/engine';

test('auto picks the best engine that loads and says why the others were skipped', async () => {
  const info = await initEngine({ backend: 'auto', quiet: true });
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(info.engine));
  assert.equal(tf.getBackend(), info.tfBackend);
  if (info.engine === 'wasm') {
    assert.deepEqual(info.skipped.map((s) => s.engine), ['tensorflow-gpu', 'tensorflow']);
    assert.match(info.summary, /tensorflow-gpu: .*not installed|tensorflow-gpu: .*failed/);
  }
});

test('initEngine is idempotent', async () => {
  const a = await initEngine({ backend: 'wasm', quiet: true });
  const before = tf.memory().numTensors;
  const b = await initEngine({ backend: 'wasm', quiet: true });
  assert.equal(a, b);
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(tf.memory().numTensors, before);
});

test('switching engines works both ways', async () => {
  assert.equal((await initEngine({ backend: 'cpu', quiet: true })).engine, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal((await initEngine({ backend: 'wasm', quiet: true })).engine, 'wasm');
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
  await assert.rejects(initEngine({ backend: 'tensorflow', quiet: true }), /engine 'tensorflow' cannot be used: .*not installed/);
  assert.equal(tf.getBackend(), 'wasm');
});

test('the environment variable is read and validated', async () => {
  const saved = process.env.RPS_BACKEND;
  try {
    process.env.RPS_BACKEND = 'cpu';
    assert.equal((await initEngine({ quiet: true })).engine, 'cpu');
    process.env.RPS_BACKEND = 'tpu';
    await assert.rejects(initEngine({ quiet: true }), /RPS_BACKEND: unknown engine 'tpu'/);
  } finally {
    if (saved === undefined) delete process.env.RPS_BACKEND;
    else process.env.RPS_BACKEND = saved;
  }
  assert.throws(() => parseEngineChoice('gpu'), /expected one of auto, tensorflow-gpu/);
});

test("the cpu engine does not print tfjs's install-tfjs-node banner (a fresh process, where it would)", () => {
  const code = [
    "const tf = require('@tensorflow/tfjs');",
    "const { initEngine } = require('./lib/engine/engine');",
    "initEngine({ backend: 'cpu' }).then(() => { tf.tensor([1, 2]).dataSync(); console.log('wrote'); });",
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
