/** `DepthwiseConv2dNativeBackpropInput` for wasm: a depthwise convolution's gradient for its input. */
import * as tf from '@tensorflow/tfjs';
import { asTensor, checkConvAttrs, convGeometry, padForInputGrad, ConvPad } from './common';

interface Attrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * dx = stride-1 depthwise convolution of dy (zeros scattered between its pixels for strided forwards, then
 * padded) with the spatially flipped filter. With a channel multiplier m > 1 each input channel gathers m
 * output channels: the convolution runs on C*m channels and a matmul with ones sums each group of m.
 * Returns a tensor owned by the caller.
 */
export function depthwiseBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; attrs?: unknown }): tf.Tensor {
  const attrs = args.attrs as Attrs;
  checkConvAttrs('DepthwiseConv2dNativeBackpropInput', attrs);
  return tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(args.inputs.dy, 'DepthwiseConv2dNativeBackpropInput', 'dy');
    const filter = asTensor<tf.Rank.R4>(args.inputs.filter, 'DepthwiseConv2dNativeBackpropInput', 'filter');
    const [kh, kw, c, m] = filter.shape;
    const info = convGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.pad, attrs.dimRoundingMode, true);
    const padded = padForInputGrad(dy, info);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const dx = tf.depthwiseConv2d(padded, flipped, 1, 'valid');
    if (m === 1) return dx;
    const groups = tf.reshape(dx, [-1, m]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(groups, tf.ones([m, 1])), attrs.inputShape);
  });
}
