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

test('views: 0 is the image, 1 its exact mirror, 2k and 2k+1 one fixed zoom/shift of the image and of its mirror', () => {
  const set = syntheticPixels(3, 16, 4);
  assert.equal(testTimeView(set, 0), set);
  const mirror = testTimeView(set, 1);
  for (let i = 0; i < 3; i++) {
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(mirror.pixels[((i * 16 + y) * 16 + x) * 3 + c], set.pixels[((i * 16 + y) * 16 + (15 - x)) * 3 + c]);
        }
      }
    }
  }
  const v2 = testTimeView(set, 2);
  assert.notDeepEqual(v2.pixels, set.pixels);
  assert.deepEqual(testTimeView(set, 2).pixels, v2.pixels, 'a pure function');
  assert.notDeepEqual(testTimeView(set, 4).pixels, v2.pixels, 'view 4: another zoom and shift');
  assert.notDeepEqual(testTimeView(set, 3).pixels, v2.pixels, 'view 3: the same zoom and shift on the mirror image');
  // An image's view does not depend on its place in the set (so one photo is predicted as in a test set).
  const per = 16 * 16 * 3;
  for (const view of [2, 3, 4, 5]) {
    const whole = testTimeView(set, view);
    for (let i = 0; i < 3; i++) {
      const alone = testTimeView({ size: 16, count: 1, pixels: set.pixels.slice(i * per, (i + 1) * per), key: `image ${i}` }, view);
      assert.deepEqual(alone.pixels, whole.pixels.subarray(i * per, (i + 1) * per), `view ${view}, image ${i}`);
    }
  }
  assert.notEqual(v2.key, set.key);
  assert.deepEqual([...meanProbabilities([[0.2, 0.8], [0.4, 0.6]])].map((v) => +v.toFixed(6)), [0.3, 0.7]);
  assert.throws(() => checkTta(0), /tta: expected a whole number of views in \[1, 64\], got 0/);
  assert.throws(() => testTimeView(set, -1), /view must be an integer >= 0/);
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
    const expected = meanProbabilities([0, 1, 2].map((v) => plainPredictions(testTimeView(test, v))));
    const got = (await predictSplit(session, 'test', { tta: 3 })).probs;
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-4, `${i}: ${got[i]} vs ${expected[i]}`);
    const before = tf.memory().numTensors;
    const a = await evaluateSession(session, { tta: 3 });
    const b = await evaluateSession(session, { tta: 3 });
    assert.deepEqual(a, b);
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(predictSplit(session, 'train', { tta: 2 }), /for the test split/);
    // A single image: the same views as in the session's evaluation (image 4 of the set), run as one batch.
    const clf = { model: classifier, metadata: { classes: test.classes, inputSize: 32, pixelRange: [-1, 1] as [number, number], base: 'tiny', formatVersion: CLASSIFIER_FORMAT_VERSION, savedAt: '' } };
    const per = 32 * 32 * 3;
    const p4 = await predictPixels(clf, test.pixels.subarray(4 * per, 5 * per), 'x', { tta: 3 });
    test.classes.forEach((c, k) => assert.ok(Math.abs(p4.probabilities[c] - got[4 * test.classes.length + k]) < 1e-4, `${c}: ${p4.probabilities[c]} vs ${got[4 * test.classes.length + k]}`));
    assert.equal(tf.memory().numTensors, before);
  } finally {
    session.dispose();
    classifier.dispose();
    base.model.dispose();
  }
});
