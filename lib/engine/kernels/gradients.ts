/**
 * Gradient functions that make backpropagation through MobileNet-style layers cheap on wasm, in time and in
 * memory. tfjs-core's versions are correct on every backend but written for it: BatchNormalization's tiles
 * the inverse standard deviation to the full activation size, and `mean`'s and `sum`'s multiply by a
 * full-size tensor of ones; on wasm those cost more than the convolution they follow. The replacements
 * compute the same values with broadcasting, pooled sums and matmuls against ones, and defer to tfjs-core's
 * originals on other backends.
 *
 * `ClipByValue` saves its output instead of its input, so that a ReLU6 layer (relu, then clip) keeps only its
 * own output for backprop instead of also the intermediate relu output: one activation less per layer, which
 * MobileNetV2 at 128 px and batch 32 needs to fit in the wasm heap (4 GB). The gradient passes where
 * min < y < max; tfjs-core's passes where min <= x <= max. They differ only for inputs exactly at a bound,
 * and for ReLU6 not at all: at 0 the relu before it already stops the gradient, and 6 is never hit exactly
 * by a float computation in practice.
 */
import * as tf from '@tensorflow/tfjs';
import { sumRows } from './common';

const MARK = Symbol.for('rps-transfer.wasmTrainingGradient');

type GradFunc = tf.GradConfig['gradFunc'];

const onWasm = (): boolean => tf.getBackend() === 'wasm';

/** The number of leading axes that `axis` names on a tensor of `rank` dims, or 0 if it names others too. */
function leadingAxes(rank: number, axis: number | number[]): number {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

/** Repeats a [1, C] row `rows` times ([rows, C]) as a matmul, far cheaper on wasm than tile or mul by ones. */
function repeatRow(row: tf.Tensor2D, rows: number): tf.Tensor2D {
  return tf.matMul(tf.ones([rows, 1]), row);
}

function fusedBatchNormGrad(original: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as tf.Tensor[];
    if (!onWasm() || mean.rank !== 1 || x.rank < 2 || variance.rank !== 1) return original(dy, saved, attrs);
    const dyT = dy as tf.Tensor;
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    const channels = mean.shape[0];
    // Per-channel sums, computed once: sum(dy) and sum((x - mean) * dy).
    const [sumDy, sumDyXc, r] = tf.tidy(() => {
      const dy2 = tf.reshape(dyT, [-1, channels]) as tf.Tensor2D;
      const xc = tf.sub(tf.reshape(x, [-1, channels]), mean);
      return [
        tf.reshape(sumRows(dy2), [channels]),
        tf.reshape(sumRows(tf.mul(xc, dy2) as tf.Tensor2D), [channels]),
        tf.rsqrt(tf.add(variance, eps)),
      ];
    });
    const gain = scale == null ? r : tf.mul(r, scale);
    return {
      x: () => tf.mul(dyT, gain),
      mean: () => tf.mul(tf.neg(gain), sumDy),
      variance: () => tf.mul(tf.mul(sumDyXc, gain), tf.mul(tf.square(r), -0.5)),
      scale: () => tf.mul(sumDyXc, r),
      offset: () => tf.clone(sumDy),
    };
  };
}

/**
 * The gradient of `Sum` (`mean: false`) or `Mean` (`mean: true`) over leading axes: dy (divided by the row
 * count for a mean) repeated over the reduced rows.
 */
function leadingReduceGrad(original: GradFunc, mean: boolean): GradFunc {
  return (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const { axis } = attrs as { axis: number | number[] };
    const k = onWasm() && x.dtype === 'float32' ? leadingAxes(x.rank, axis) : 0;
    if (k === 0) return original(dy, saved, attrs);
    const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
    return {
      x: () => {
        const row = tf.reshape(mean ? tf.div(dy as tf.Tensor, rows) : (dy as tf.Tensor), [1, -1]) as tf.Tensor2D;
        return tf.reshape(repeatRow(row, rows), x.shape);
      },
    };
  };
}

/**
 * dx = dy where min < y < max, else 0, as dy * step(y - min) * step(max - y): a few float passes, several
 * times cheaper on wasm than tfjs-core's greater/less/logicalAnd/where over boolean tensors.
 */
const clipGrad: GradFunc = (dy, saved, attrs) => {
  const [y] = saved as tf.Tensor[];
  const { clipValueMin, clipValueMax } = attrs as { clipValueMin: number; clipValueMax: number };
  return {
    x: () => {
      const above = tf.step(clipValueMin === 0 ? y : tf.sub(y, clipValueMin));
      const below = tf.step(tf.sub(clipValueMax, y));
      return tf.mul(dy as tf.Tensor, tf.mul(above, below));
    },
  };
};

/**
 * Registers the gradient replacements. Idempotent (an already replaced gradient is left alone). Affects only
 * the wasm backend's arithmetic, except `ClipByValue`'s, which is replaced on every backend (it saves its
 * output, see above).
 */
export function registerWasmTrainingGradients(): void {
  const replace = (kernelName: string, make: (original: tf.GradConfig) => tf.GradConfig) => {
    const original = tf.getGradient(kernelName);
    if (!original) throw new Error(`registerWasmTrainingGradients: tfjs has no gradient for '${kernelName}'`);
    if ((original.gradFunc as unknown as Record<symbol, unknown>)[MARK]) return;
    const config = make(original);
    Object.defineProperty(config.gradFunc, MARK, { value: true });
    tf.registerGradient(config);
  };
  replace('FusedBatchNorm', (o) => ({ ...o, gradFunc: fusedBatchNormGrad(o.gradFunc) }));
  replace('Mean', (o) => ({ ...o, gradFunc: leadingReduceGrad(o.gradFunc, true) }));
  replace('Sum', (o) => ({ ...o, gradFunc: leadingReduceGrad(o.gradFunc, false) }));
  replace('ClipByValue', () => ({ kernelName: 'ClipByValue', outputsToSave: [true], gradFunc: (dy, saved, attrs) => clipGrad(dy, saved, attrs) }));
}
