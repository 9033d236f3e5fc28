/** Test-time augmentation: the views, and the averaged probabilities of a session and of a single image. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { meanProbabilities, testTimeView, checkTta } from '../../lib/data/tta';
import { createTrainingSession } from '../../lib/train/session';
import { trainHead, fineTune } from '../../lib/train/phases';
import { predictSplit } from '../../lib/train/predict';
import { evaluateSession } from '../../lib/experiment/evaluate';
import { predictPixels } from '../../lib/model/predict';
import { CLASSIFIER_FORMAT_VERSION } from '../../lib/model/persist';
import { syntheticPixels, tinyClassifier } from '../train/helpers';

test('views: 0 is the image, 1 its exact mirror, 2k and 2k+1 a seeded zoom/shift of the image and of its mirror', () => {
  const set = syntheticPixels(3, 16, 4);
  assert.equal(testTimeView(set, 0, 1), set);
  const mirror = testTimeView(set, 1, 1);
  for (let i = 0; i < 3; i++) {
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(mirror.pixels[((i * 16 + y) * 16 + x) * 3 + c], set.pixels[((i * 16 + y) * 16 + (15 - x)) * 3 + c]);
        }
      }
    }
  }
  const v2 = testTimeView(set, 2, 1);
  assert.notDeepEqual(v2.pixels, set.pixels);
  assert.deepEqual(testTimeView(set, 2, 1).pixels, v2.pixels, 'seeded');
  assert.notDeepEqual(testTimeView(set, 2, 2).pixels, v2.pixels, 'another seed, other views');
  assert.notDeepEqual(testTimeView(set, 3, 1).pixels, v2.pixels, 'view 3: the same zoom and shift on the mirror image');
  assert.notEqual(v2.key, set.key);
  assert.deepEqual([...meanProbabilities([[0.2, 0.8], [0.4, 0.6]])].map((v) => +v.toFixed(6)), [0.3, 0.7]);
  assert.throws(() => checkTta(0), /tta: expected a whole number of views in \[1, 64\], got 0/);
  assert.throws(() => testTimeView(set, -1, 0), /view must be an integer >= 0/);
});

test('a session with tta averages the classifier over the views, exactly; tensors stay flat', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const { base, classifier } = tinyClassifier(32, 3, 0);
  const test = syntheticPixels(9, 32, 2);
  const session = createTrainingSession({ base, classifier, train: syntheticPixels(18, 32, 1), test, seed: 5, augment: false, workers: 1, callbacks: {} });
  try {
    await trainHead(session, { epochs: 2, batchSize: 6, learningRate: 0.05, earlyStopping: false });
    await fineTune(session, { epochs: 1, batchSize: 6, from: 'block_16', earlyStopping: false });
    const plainPredictions = (set: typeof test) =>
      tf.tidy(() => (classifier.predict(tf.tensor4d(set.pixels, [set.count, 32, 32, 3], 'int32').toFloat().div(127.5).sub(1)) as tf.Tensor).dataSync() as Float32Array);
    const expected = meanProbabilities([0, 1, 2].map((v) => plainPredictions(testTimeView(test, v, session.ttaSeed))));
    const got = (await predictSplit(session, 'test', { tta: 3 })).probs;
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-4, `${i}: ${got[i]} vs ${expected[i]}`);
    const before = tf.memory().numTensors;
    const a = await evaluateSession(session, { tta: 3 });
    const b = await evaluateSession(session, { tta: 3 });
    assert.deepEqual(a, b);
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(predictSplit(session, 'train', { tta: 2 }), /for the test split/);
    // A single image: the same rule, the views run as one batch.
    const clf = { model: classifier, metadata: { classes: test.classes, inputSize: 32, pixelRange: [-1, 1] as [number, number], base: 'tiny', formatVersion: CLASSIFIER_FORMAT_VERSION, savedAt: '' } };
    const one = { size: 32, count: 1, pixels: test.pixels.subarray(0, 32 * 32 * 3), key: 'x' };
    const p2 = await predictPixels(clf, one.pixels, 'x', { tta: 2 });
    const views = await Promise.all([0, 1].map(async (v) => (await predictPixels(clf, testTimeView(one, v, 0).pixels, 'x')).probabilities));
    for (const c of test.classes) assert.ok(Math.abs(p2.probabilities[c] - (views[0][c] + views[1][c]) / 2) < 1e-5, c);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    session.dispose();
    classifier.dispose();
    base.model.dispose();
  }
});
