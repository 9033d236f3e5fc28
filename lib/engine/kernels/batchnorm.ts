/**
 * `FusedBatchNorm` (BatchNormalization in inference mode, and in training mode once the batch statistics are
 * known) for wasm. wasm's own kernel walks the activation with a per-element channel lookup, far slower than the
 * equivalent `x * s + b` with per-channel `s = scale / sqrt(variance + eps)` and `b = offset - mean * s`: two
 * broadcasting XNNPACK passes after a few channel-sized ops (README's kernel table has the figures). Other shapes of the statistics (not per-channel vectors) go to wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './common';
import type { Fallback } from './reduce';

/** A `FusedBatchNorm` kernel function for per-channel statistics; anything else goes to `fallback`. */
export function fastBatchNormKernel(fallback: Fallback): Fallback {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs;
    const channels = x?.shape[x.shape.length - 1];
    const perChannel = (t: tf.TensorInfo | undefined) => t === undefined || (t.shape.length === 1 && t.shape[0] === channels);
    if (!x || x.dtype !== 'float32' || x.shape.length < 2 || !mean || !variance || ![mean, variance, offset, scale].every(perChannel)) {
      return fallback(args);
    }
    const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
    return tf.tidy(() => {
      let s = tf.rsqrt(tf.add(asTensor(variance, 'FusedBatchNorm', 'variance'), varianceEpsilon));
      if (scale) s = tf.mul(s, asTensor(scale, 'FusedBatchNorm', 'scale'));
      let b = tf.neg(tf.mul(asTensor(mean, 'FusedBatchNorm', 'mean'), s));
      if (offset) b = tf.add(b, asTensor(offset, 'FusedBatchNorm', 'offset'));
      return tf.add(tf.mul(asTensor(x, 'FusedBatchNorm', 'x'), s), b);
    });
  };
}
