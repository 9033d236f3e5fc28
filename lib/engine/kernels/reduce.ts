/**
 * `Sum` and `Mean` for wasm over leading axes (batch statistics and their gradients: [N, H, W, C] reduced
 * over N, H, W). wasm's own kernels make such a reduction cost far more than the convolution before it; one
 * global average pooling (XNNPACK) over a free reshape of the data is about twenty times faster than wasm's
 * `Mean` and reads the data once. Other reductions go to wasm's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, meanOverLeadingAxes } from './common';

interface Attrs {
  axis: number | number[];
  keepDims: boolean;
}

export type Fallback = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }) => tf.TensorInfo | tf.TensorInfo[];

/** The number of leading axes reduced, or 0 when the reduction is not over leading axes only. */
function leadingAxes(shape: number[], axis: number | number[]): number {
  const axes = tf.util.parseAxisParam(axis, shape).slice().sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

/** A `Sum` or `Mean` kernel function that handles leading-axes float32 reductions and defers the rest to `fallback`. */
export function fastReduceKernel(kernel: 'Sum' | 'Mean', fallback: Fallback): Fallback {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }) => {
    const attrs = args.attrs as Attrs;
    const xInfo = args.inputs.x;
    const k = xInfo && xInfo.dtype === 'float32' ? leadingAxes(xInfo.shape, attrs.axis) : 0;
    if (!xInfo || k === 0) return fallback(args);
    return tf.tidy(() => {
      const x = asTensor(xInfo, kernel, 'x');
      const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
      const rest = x.shape.slice(k);
      const mean = meanOverLeadingAxes(x, k);
      const out = kernel === 'Sum' ? tf.mul(mean, rows) : mean;
      return tf.reshape(out, attrs.keepDims ? [...new Array<number>(k).fill(1), ...rest] : rest);
    });
  };
}
