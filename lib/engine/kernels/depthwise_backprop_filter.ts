/** `DepthwiseConv2dNativeBackpropFilter` for wasm: a depthwise convolution's gradient for its filter. */
import * as tf from '@tensorflow/tfjs';
import { asTensor, checkConvAttrs, convGeometry, cropFilter, padLikeForward, ConvPad } from './common';

interface Attrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * XNNPACK has fast depthwise kernels for 3x3 and 5x5 taps; other sizes (dy as the filter is usually larger) take
 * a slow generic path. A dy of at most 5x5 runs as one convolution, a larger one in 3x3 tiles (measured: 5x5
 * tiles and 4x4 tiles are slower, the latter even slower than no tiling).
 */
const SINGLE_MAX = 5;
const TILE = 3;

/**
 * dW[i, j, c, q] = sum over n, h, w of xPadded[n, h*s + i, w*s + j, c] * dy[n, h, w, c*m + q].
 * Computed as depthwise convolutions: the padded input laid out as a single image with N*C channels,
 * correlated with dy (laid out as a [Ho, Wo, N*C, m] filter, dilated by the stride), then summed over N.
 * A dy larger than 5x5 is cut into tiles of at most 3x3, each correlated with its window of the image and the
 * results added: XNNPACK is fast only for 3x3 and 5x5 taps (README's kernel table has the figures).
 * Returns a tensor owned by the caller.
 */
export function depthwiseBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; attrs?: unknown }): tf.Tensor {
  const attrs = args.attrs as Attrs;
  checkConvAttrs('DepthwiseConv2dNativeBackpropFilter', attrs);
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(args.inputs.x, 'DepthwiseConv2dNativeBackpropFilter', 'x');
    const dy = asTensor<tf.Rank.R4>(args.inputs.dy, 'DepthwiseConv2dNativeBackpropFilter', 'dy');
    const [kh, kw, c, m] = attrs.filterShape;
    const n = x.shape[0];
    const info = convGeometry(x.shape, attrs.filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode, true);
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const xp = padLikeForward(x, info);
    const [, hp, wp] = xp.shape;
    const image = tf.reshape(tf.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, n * c]) as tf.Tensor4D;
    const [, ho, wo] = dy.shape;
    // Output rows/columns of the correlation (at least kh x kw; the extra ones are cropped below).
    const outH = hp - (ho - 1) * sh;
    const outW = wp - (wo - 1) * sw;
    const correlate = (top: number, left: number, th: number, tw: number) => {
      const tile = th === ho && tw === wo ? dy : tf.slice(dy, [0, top, left, 0], [n, th, tw, c * m]);
      const filter = tf.reshape(tf.transpose(tf.reshape(tile, [n, th, tw, c, m]), [1, 2, 0, 3, 4]), [th, tw, n * c, m]) as tf.Tensor4D;
      const window =
        th === ho && tw === wo ? image : (tf.slice(image, [0, top * sh, left * sw, 0], [1, (th - 1) * sh + outH, (tw - 1) * sw + outW, n * c]) as tf.Tensor4D);
      return tf.depthwiseConv2d(window, filter, 1, 'valid', 'NHWC', [sh, sw]);
    };
    const step = ho <= SINGLE_MAX && wo <= SINGLE_MAX ? Math.max(ho, wo) : TILE;
    const tiles: tf.Tensor4D[] = [];
    for (let top = 0; top < ho; top += step) {
      for (let left = 0; left < wo; left += step) tiles.push(correlate(top, left, Math.min(step, ho - top), Math.min(step, wo - left)));
    }
    const corr = tiles.length === 1 ? tiles[0] : (tf.addN(tiles) as tf.Tensor4D);
    const perExample = tf.reshape(cropFilter(corr, kh, kw), [kh * kw, n, c * m]); // channel (n*C + c)*m + q
    return tf.reshape(tf.sum(perExample, 1), attrs.filterShape);
  });
}
