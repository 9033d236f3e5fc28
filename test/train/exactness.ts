/**
 * The cached path (suffix trained on stored activations) and the plain path (whole model on pixels, frozen
 * prefix recomputed every step) take the same steps: same batches, same dropout masks, BN in inference mode.
 * Their trained weights agree within a small relative error, for both phases; run by one test file per engine
 * group (exactness.test.ts for cpu and wasm, test/engine/webgpu_exactness.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, type EngineName } from '../../lib/engine/engine';
import { createTrainingSession } from '../../lib/train/session';
import { fineTune, trainHead } from '../../lib/train/phases';
import { maxRelativeError, readableWeightValues, syntheticPixels, tinyClassifier } from './helpers';

async function trainBoth(path: 'cached' | 'plain', augment: boolean) {
  const { base, classifier } = tinyClassifier(32, 3, 0.2);
  const tensorsBefore = tf.memory().numTensors;
  const session = createTrainingSession({
    base,
    classifier,
    train: syntheticPixels(24, 32, 5),
    seed: 11,
    validationSplit: 0.2,
    augment: augment ? {} : false,
    augmentViews: 2,
    workers: 1,
    callbacks: {},
  });
  // One part per step: splitting steps changes the dropout seeds per slice (test/train/parallel.test.ts covers it).
  const phase = { epochs: 2, batchSize: 8, path, earlyStopping: false as const, trainWorkers: 1 };
  await trainHead(session, { ...phase, learningRate: 1e-2 });
  const afterHead = await readableWeightValues(classifier);
  await fineTune(session, { ...phase, from: 'block_16', learningRate: 1e-3 });
  const afterFineTune = await readableWeightValues(classifier);
  const history = session.history;
  session.dispose();
  // The session and its training allocate nothing that outlives them (model construction is lib/model's business).
  assert.equal(tf.memory().numTensors, tensorsBefore, `${path} path leaked tensors`);
  classifier.dispose();
  base.model.dispose();
  return { afterHead, afterFineTune, history };
}

/** Registers the test on `engine`: weights and losses within relative `tolerance`; `augment` adds augmented views. */
export function cachedEqualsPlainTest(engine: EngineName, tolerance: number, augment: boolean): void {
  test(`cached path = plain path within ${tolerance} (${engine})`, async () => {
    await initEngine({ engine, quiet: true });
    const cached = await trainBoth('cached', augment);
    const plain = await trainBoth('plain', augment);
    const initial = tinyClassifier(32, 3, 0.2);
    const start = await readableWeightValues(initial.classifier);
    initial.classifier.dispose();
    initial.base.model.dispose();

    // Training really changed the weights (otherwise equality proves nothing).
    assert.ok(maxRelativeError(cached.afterHead, start) > 1e-3, 'head training changed nothing');
    assert.ok(maxRelativeError(cached.afterFineTune, cached.afterHead) > 1e-4, 'fine-tuning changed nothing');
    const headErr = maxRelativeError(cached.afterHead, plain.afterHead);
    const ftErr = maxRelativeError(cached.afterFineTune, plain.afterFineTune);
    assert.ok(headErr < tolerance, `head phase: relative error ${headErr}`);
    assert.ok(ftErr < tolerance, `fine-tune phase: relative error ${ftErr}`);
    assert.equal(cached.history.fineTuneStartEpoch, 3);
    assert.deepEqual(cached.history.records.map((r) => `${r.epoch}:${r.phase}`), ['1:head', '2:head', '3:fine-tune', '4:fine-tune']);
    for (const [i, r] of cached.history.records.entries()) {
      const p = plain.history.records[i];
      assert.ok(Math.abs(r.loss - p.loss) < tolerance * Math.max(1, Math.abs(p.loss)), `epoch ${r.epoch} loss ${r.loss} vs ${p.loss}`);
      assert.equal(r.accuracy, p.accuracy);
    }
  });
}
