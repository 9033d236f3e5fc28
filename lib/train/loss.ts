/** The training loss, in its own module so that the loop and the parallel steps share it without an import cycle. */
import * as tf from '@tensorflow/tfjs';

/** Label smoothing when none is given: off (plain cross-entropy). */
export const DEFAULT_LABEL_SMOOTHING = 0;

/** Throws naming `param` unless `value` is a number in [0, 1). */
export function checkLabelSmoothing(value: number, param = 'labelSmoothing'): void {
  if (!(typeof value === 'number' && value >= 0 && value < 1)) throw new Error(`${param}: expected a number in [0, 1), got ${value}`);
}

/**
 * Keras' categorical cross-entropy on softmax outputs, from integer labels, with Keras' label smoothing: the
 * targets are `oneHot * (1 - labelSmoothing) + labelSmoothing / numClasses` (`CategoricalCrossentropy(label_smoothing)`).
 * Probabilities are clipped to [1e-7, 1 - 1e-7] as Keras does. Returns the batch mean as a scalar; tidy-safe.
 */
export function crossEntropyLoss(probs: tf.Tensor, labels: tf.Tensor1D, numClasses: number, labelSmoothing = DEFAULT_LABEL_SMOOTHING): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, numClasses).toFloat();
    // Without smoothing the one-hot targets are used as they are, so the numbers stay those of plain cross-entropy.
    const targets = labelSmoothing > 0 ? tf.add(tf.mul(oneHot, 1 - labelSmoothing), labelSmoothing / numClasses) : oneHot;
    const logp = tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7));
    return tf.neg(tf.mean(tf.sum(tf.mul(targets, logp), -1))) as tf.Scalar;
  });
}
