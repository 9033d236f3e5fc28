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
 * dW[i, j, c, q] = sum over n, h, w of xPadded[n, h*s + i, w*s + j, c] * dy[n, h, w, c*m + q].
 * Computed as ONE depthwise convolution: the padded input laid out as a single image with N*C channels,
 * correlated with dy (laid out as a [Ho, Wo, N*C, m] filter, dilated by the stride), then summed over N.
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
    const xp = padLikeForward(x, info);
    const [, hp, wp] = xp.shape;
    const image = tf.reshape(tf.transpose(xp, [1, 2, 0, 3]), [1, hp, wp, n * c]) as tf.Tensor4D;
    const [, ho, wo] = dy.shape;
    const dy5 = tf.reshape(dy, [n, ho, wo, c, m]);
    const filter = tf.reshape(tf.transpose(dy5, [1, 2, 0, 3, 4]), [ho, wo, n * c, m]) as tf.Tensor4D;
    const corr = tf.depthwiseConv2d(image, filter, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    const perExample = tf.reshape(cropFilter(corr, kh, kw), [kh * kw, n, c * m]); // channel (n*C + c)*m + q
    return tf.reshape(tf.sum(perExample, 1), attrs.filterShape);
  });
}
