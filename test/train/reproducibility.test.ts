/**
 * One seed makes a run repeatable (data order, validation split, augmentation, initializers, dropout); phases
 * re-run on warm caches compute no activations; re-running a phase starts from the same weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { createTrainingSession, type TrainingSession } from '../../lib/train/session';
import { fineTune, trainHead } from '../../lib/train/phases';
import { evaluateSession } from '../../lib/experiment/evaluate';
import { syntheticPixels, tinyClassifier } from './helpers';

const phase = { epochs: 2, batchSize: 8, earlyStopping: false as const };

async function withSession<T>(seed: number, fn: (s: TrainingSession) => Promise<T>, cacheDir?: string): Promise<T> {
  // The classifier's initializers take the same seed, as runPipeline does.
  const { base, classifier } = tinyClassifier(32, seed, 0.3);
  const session = createTrainingSession({
    base,
    classifier,
    train: syntheticPixels(30, 32, 1),
    test: syntheticPixels(12, 32, 2),
    seed,
    augment: { rotation: 0.1 },
    augmentViews: 2,
    workers: 1,
    cacheDir,
    callbacks: {},
  });
  try {
    return await fn(session);
  } finally {
    session.dispose();
    classifier.dispose();
    base.model.dispose();
  }
}

async function fullRun(seed: number) {
  return withSession(seed, async (s) => {
    await trainHead(s, { ...phase, learningRate: 0.01 });
    await fineTune(s, { ...phase, from: 'block_16' });
    const ev = await evaluateSession(s);
    return { history: s.history.records.map(({ seconds: _s, ...r }) => r), accuracy: ev.accuracy, loss: ev.loss, confusion: ev.confusion };
  });
}

test('two runs with the same seed give identical metrics; another seed differs', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const a = await fullRun(7);
  const b = await fullRun(7);
  assert.deepEqual(a, b);
  const c = await fullRun(8);
  assert.notDeepEqual(a.history, c.history);
});

test('re-running fine-tuning with another learning rate reuses every cached activation and leaks nothing', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-rerun-'));
  try {
    await withSession(
      3,
      async (s) => {
        const h1 = await trainHead(s, { ...phase, learningRate: 0.01 });
        assert.equal(h1.cache.computed, 3, 'clean view + 2 augmented views');
        const before = tf.memory().numTensors;
        const f1 = await fineTune(s, { ...phase, from: 'block_16', learningRate: 1e-3 });
        assert.equal(f1.cache.computed, 3);
        assert.equal(f1.fromBlock, 'block_16');
        const f2 = await fineTune(s, { ...phase, from: 'block_16', learningRate: 3e-3 });
        assert.deepEqual(f2.cache, { memoryHits: 3, diskHits: 0, computed: 0 });
        assert.equal(f2.featureSeconds < f1.featureSeconds, true);
        assert.notDeepEqual(f1.records.map((r) => r.loss), f2.records.map((r) => r.loss));
        // Same learning rate again: the same result, because fine-tuning restarts from the trained head.
        const f3 = await fineTune(s, { ...phase, from: 'block_16', learningRate: 1e-3 });
        assert.deepEqual(f3.records.map((r) => r.loss), f1.records.map((r) => r.loss));
        assert.deepEqual(s.history.records.map((r) => `${r.epoch}:${r.phase}`), ['1:head', '2:head', '3:fine-tune', '4:fine-tune']);
        // Head training again restarts from the initial weights: the same records as the first time.
        const h2 = await trainHead(s, { ...phase, learningRate: 0.01 });
        assert.deepEqual(h2.records.map((r) => r.loss), h1.records.map((r) => r.loss));
        assert.equal(s.history.fineTuneStartEpoch, null);
        assert.equal(tf.memory().numTensors, before, 'tensors leaked across phase runs');
      },
      dir,
    );
    // A fresh session (a new notebook kernel) finds the activations on disk.
    await withSession(
      3,
      async (s) => {
        const h = await trainHead(s, { ...phase, learningRate: 0.01 });
        assert.deepEqual(h.cache, { memoryHits: 0, diskHits: 3, computed: 0 });
      },
      dir,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fine-tuning before head training, or from the first block, is refused clearly', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  await withSession(1, async (s) => {
    await assert.rejects(fineTune(s, { ...phase, from: 'block_16' }), /train the head first/);
    await trainHead(s, { ...phase, epochs: 1 });
    await assert.rejects(fineTune(s, { ...phase, from: 0 }), /nothing frozen is left to cache/);
    await assert.rejects(fineTune(s, { ...phase, from: 'block_99' }), /neither a block nor a layer/);
  });
});
