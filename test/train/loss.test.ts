/** The training loss (lib/train/loss.ts): Keras' categorical cross-entropy, with Keras' label smoothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { checkLabelSmoothing, crossEntropyLoss } from '../../lib/train/loss';

const probs = [
  [0.7, 0.2, 0.1],
  [0.1, 0.3, 0.6],
  [1, 0, 0],
];
const labels = [0, 2, 1];

/** The loss computed by hand in doubles: targets y*(1-a) + a/K, probabilities clipped to [1e-7, 1-1e-7]. */
function byHand(a: number): number {
  const K = 3;
  const perSample = probs.map((p, i) =>
    -p.reduce((s, pk, k) => s + ((k === labels[i] ? 1 : 0) * (1 - a) + a / K) * Math.log(Math.min(Math.max(pk, 1e-7), 1 - 1e-7)), 0),
  );
  return perSample.reduce((s, v) => s + v, 0) / perSample.length;
}

const loss = (a?: number) =>
  tf.tidy(() => crossEntropyLoss(tf.tensor2d(probs), tf.tensor1d(labels, 'int32'), 3, a).dataSync()[0]);

test('label smoothing matches the hand computation; 0 is plain cross-entropy, bit for bit', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  for (const a of [0, 0.1, 0.5]) {
    const got = loss(a);
    assert.ok(Math.abs(got - byHand(a)) < 1e-5 * byHand(a), `a=${a}: ${got} vs ${byHand(a)}`);
  }
  assert.ok(loss(0.1) !== loss(0), 'smoothing changed nothing');
  // The default and an explicit 0 take the unsmoothed path: the same float32 value as before smoothing existed.
  assert.equal(loss(0), loss());
  const plain = tf.tidy(() => {
    const logp = tf.log(tf.clipByValue(tf.tensor2d(probs), 1e-7, 1 - 1e-7));
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat(), logp), -1))).dataSync()[0];
  });
  assert.equal(loss(0), plain);
});

test('labelSmoothing outside [0, 1) is refused with its name', () => {
  for (const bad of [-0.1, 1, 2, NaN]) assert.throws(() => checkLabelSmoothing(bad), /labelSmoothing: expected a number in \[0, 1\)/);
  checkLabelSmoothing(0);
  checkLabelSmoothing(0.99);
});
