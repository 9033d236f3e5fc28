/**
 * Shared pieces of the wasm gradient kernels: turning kernel inputs into tensors, the padding geometry of
 * a forward convolution, and the cheap reshapes/pads that stand in for the wasm backend's slow slicing.
 *
 * The kernels are written with tfjs ops, which on the wasm backend run as native (XNNPACK) convolutions,
 * matmuls, pads and transposes, and slices (our `Slice`, ./slice). They avoid `stridedSlice` on large tensors:
 * on wasm it reads the whole input back into JavaScript and costs far more than a convolution of the same size.
 */
import * as tf from '@tensorflow/tfjs';

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
export type ConvPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/**
 * A tensor view of a kernel input. Inputs are usually tensors already; a bare TensorInfo is wrapped
 * (the wrapper is tracked by the surrounding `tf.tidy`, which releases it without freeing the data).
 */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo | undefined, kernel: string, name: string): tf.Tensor<R> {
  if (info === undefined) throw new Error(`${kernel} (wasm training kernel): input '${name}' is missing`);
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/** Throws unless the attributes describe what these kernels implement (NHWC, dilation 1). */
export function checkConvAttrs(kernel: string, attrs: { dataFormat?: string; dilations?: number | [number, number] }): void {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} (wasm training kernel): dataFormat must be 'NHWC', got '${attrs.dataFormat}'`);
  }
  const d = attrs.dilations;
  if (d !== undefined && !(d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1))) {
    throw new Error(`${kernel} (wasm training kernel): dilations must be 1, got ${JSON.stringify(d)}`);
  }
}

/** The forward convolution's geometry (output size, strides, TF padding: top = floor(total / 2)). */
export function convGeometry(
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: ConvPad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode, depthwise);
}

/** Zero-pads (or crops, for negative amounts) the two spatial axes of an NHWC tensor. Caller owns the result. */
export function padSpatial(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
  }
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    // Rare (explicit negative geometry, 1x1 stride-2 input gradients): a crop.
    const [n, h, w, c] = y.shape;
    const t = Math.max(-top, 0);
    const l = Math.max(-left, 0);
    y = tf.slice(y, [0, t, l, 0], [n, h - t - Math.max(-bottom, 0), w - l - Math.max(-right, 0), c]);
  }
  return y;
}

/**
 * Inserts `sh - 1` zero rows after every row and `sw - 1` zero columns after every column of an NHWC
 * tensor ([N, H, W, C] -> [N, H*sh, W*sw, C]), by one pad of a rank-6 view: the scatter that turns a strided
 * convolution's output gradient into a stride-1 problem. Caller owns the result.
 */
export function dilateSpatial(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const view = tf.reshape(x, [n, h, 1, w, 1, c]);
  const padded = tf.pad(view, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(padded, [n, h * sh, w * sw, c]);
}

/** Crops a small tensor's spatial axes 1 and 2 to [kh, kw] from the origin (used on filter-sized results). */
export function cropFilter<T extends tf.Tensor4D>(x: T, kh: number, kw: number): T {
  if (x.shape[1] === kh && x.shape[2] === kw) return x;
  return tf.slice(x, [0, 0, 0, 0], [x.shape[0], kh, kw, x.shape[3]]) as T;
}

/**
 * The output gradient padded for a stride-1 "full" correlation with the flipped filter, so that a valid
 * convolution of the result yields exactly the input gradient: dx[h] = sum_i dyDilated[h + top_f - i] w[i].
 */
export function padForInputGrad(dy: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const dilated = dilateSpatial(dy, info.strideHeight, info.strideWidth);
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight + info.filterHeight - 1 - dilated.shape[1] - top;
  const right = info.inWidth + info.filterWidth - 1 - dilated.shape[2] - left;
  return padSpatial(dilated, top, bottom, left, right);
}

/** The forward input padded as the forward convolution saw it. */
export function padLikeForward(x: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const { top, bottom, left, right } = info.padInfo;
  return padSpatial(x, top, bottom, left, right);
}

/**
 * A copy of `x` in a buffer of its own (one fast sequential pass). wasm caches a packed copy of a matmul's
 * right operand until that operand's buffer is freed; for a long-lived activation or gradient that would
 * double its memory for the rest of the training step. A fresh copy is freed, with its packed copy, at once.
 */
export function freshCopy<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, 1) as T;
}

/**
 * The mean over the first `k` axes, as one global average pooling (XNNPACK) of a free reshape: about twenty
 * times faster on wasm than its `Mean`, reading the data once. [N, H, W, C] over N, H, W pools a
 * [1, N*H, W, C] view; other shapes a [1, rows, 1, rest] view. Shape: [1, 1, 1, rest].
 */
export function meanOverLeadingAxes(x: tf.Tensor, k: number): tf.Tensor4D {
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const [n, h, w, c] = x.shape;
  const view =
    x.rank === 4 && k === 3 ? (tf.reshape(x, [1, n * h, w, c]) as tf.Tensor4D) : (tf.reshape(x, [1, rows, 1, -1]) as tf.Tensor4D);
  return tf.avgPool(view, [view.shape[1], view.shape[2]], 1, 'valid');
}

/** Sums a [rows, cols] matrix over its rows, as [1, cols] (see `meanOverLeadingAxes`). */
export function sumRows(x2d: tf.Tensor2D): tf.Tensor2D {
  return tf.reshape(tf.mul(meanOverLeadingAxes(x2d, 1), x2d.shape[0]), [1, x2d.shape[1]]);
}

/**
 * a^T b for [rows, n] and [rows, m] matrices sharing a long `rows` axis (a filter gradient's x^T dy): the
 * narrower operand is transposed (wasm's matmul is fast only untransposed), the other goes in as a fresh copy.
 */
export function matMulTransposeA(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.shape[1] <= b.shape[1]) return tf.matMul(tf.transpose(a), freshCopy(b));
  return tf.transpose(tf.matMul(tf.transpose(b), freshCopy(a))) as tf.Tensor2D;
}
