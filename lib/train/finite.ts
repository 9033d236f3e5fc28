/**
 * Finiteness checks that cost one scalar read: `x - x` is 0 for every finite x and NaN for NaN and ±Inf, so the
 * sum over a tensor is 0 exactly when all its values are finite (a plain sum would also overflow on huge finite values).
 */
import * as tf from '@tensorflow/tfjs';

/** 0 when every value of `x` is finite, else NaN. The caller owns the result. */
export function finiteCheck(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.sub(x, x)));
}

/** One check over several tensors (0 or NaN). The caller owns the result. */
export function allFiniteCheck(xs: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.addN(xs.map(finiteCheck)));
}
