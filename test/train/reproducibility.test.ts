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
import { createTrainingSession, weightsFingerprint, type TrainingSession, type TrainingSessionOptions } from '../../lib/train/session';
import { fineTune, fineTuneBoundary, trainHead } from '../../lib/train/phases';
import { HEAD_LAYERS, unfreezeFrom } from '../../lib/model/surgery';
import { evaluateSession } from '../../lib/experiment/evaluate';
import { syntheticPixels, tinyClassifier } from './helpers';

const phase = { epochs: 2, batchSize: 8, earlyStopping: false as const };

async function withSession<T>(seed: number, fn: (s: TrainingSession) => Promise<T>, cacheDir?: string, extra: Partial<TrainingSessionOptions> = {}): Promise<T> {
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
    ...extra,
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

test('viaCut: the head pass goes through the fine-tuning boundary, so fine-tuning and its evaluation compute nothing', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const direct = await withSession(4, async (s) => {
    const clean = await s.activations(HEAD_LAYERS.pool, 'train', 0);
    const view = await s.activations(HEAD_LAYERS.pool, 'test', 1);
    return { clean: Float32Array.from(clean.data), view: Float32Array.from(view.data) };
  });
  const boundary = await withSession(4, async (s) => fineTuneBoundary(s, 'block_16').boundary);
  const messages: string[] = [];
  await withSession(
    4,
    async (s) => {
      const viaClean = await s.activations(HEAD_LAYERS.pool, 'train', 0);
      assert.deepEqual(viaClean.data, direct.clean);
      assert.deepEqual((await s.activations(HEAD_LAYERS.pool, 'test', 1)).data, direct.view);
      assert.deepEqual(s.store.getStats().computed, 4, 'head_pool and the boundary, for each of the two');
      const head = await trainHead(s, { ...phase, learningRate: 0.01 });
      const before = tf.memory().numTensors;
      assert.deepEqual(head.cache, { memoryHits: 1, diskHits: 0, computed: 4 }, 'two augmented views, each at both layers');
      assert.ok(messages.some((m) => m.startsWith(`computed activations at head_pool train view 2 (from those at ${boundary}): 30 images`)), messages.join('\n'));
      await evaluateSession(s, { tta: 2 });
      const tuned = await fineTune(s, { ...phase, from: 'block_16' });
      assert.deepEqual(tuned.cache, { memoryHits: 3, diskHits: 0, computed: 0 });
      const computed = s.store.getStats().computed;
      const tunedEval = await evaluateSession(s, { tta: 2 });
      assert.equal(s.store.getStats().computed, computed + 2, "only the two views' probabilities: the boundary's test views came with the head evaluation");
      // The same classifier again: its probabilities come from the store; other weights compute their own.
      assert.deepEqual(await evaluateSession(s, { tta: 2 }), tunedEval);
      assert.equal(s.store.getStats().computed, computed + 2);
      await fineTune(s, { ...phase, from: 'block_16', learningRate: 0.05 });
      const other = await evaluateSession(s, { tta: 2 });
      assert.equal(s.store.getStats().computed, computed + 4);
      assert.notDeepEqual(other.loss, tunedEval.loss);
      assert.equal(tf.memory().numTensors, before);
    },
    undefined,
    { viaCut: boundary, callbacks: { onMessage: (m) => messages.push(m) } },
  );
  await assert.rejects(withSession(4, async () => undefined, undefined, { viaCut: 'no_such_layer' }), /unknown layer 'no_such_layer'/);
  await assert.rejects(withSession(4, async () => undefined, undefined, { viaCut: 'block_15_project_BN' }), /skip connection crosses the cut/);
});

test('weightsFingerprint follows the values, not which weights are trainable', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const { base, classifier } = tinyClassifier(32, 5);
  try {
    const frozen = await weightsFingerprint(classifier);
    unfreezeFrom(classifier, base, { from: 'block_15' });
    assert.equal(await weightsFingerprint(classifier), frozen);
    const head = classifier.getLayer('head_output');
    const [k, b] = head.getWeights();
    const changed = b.add(1e-3);
    head.setWeights([k, changed]);
    changed.dispose();
    assert.notEqual(await weightsFingerprint(classifier), frozen);
  } finally {
    classifier.dispose();
    base.model.dispose();
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
