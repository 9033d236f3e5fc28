/** The training loss, in its own module so that the loop and the parallel steps share it without an import cycle. */
import * as tf from '@tensorflow/tfjs';

/** Keras' categorical cross-entropy on softmax outputs, from integer labels. Returns a scalar; tidy-safe. */
export function crossEntropyLoss(probs: tf.Tensor, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, numClasses).toFloat();
    const logp = tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7));
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logp), -1))) as tf.Scalar;
  });
}
