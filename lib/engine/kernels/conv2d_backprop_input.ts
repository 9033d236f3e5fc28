/** `Conv2DBackpropInput` for wasm: the gradient of a convolution with respect to its input. */
import * as tf from '@tensorflow/tfjs';
import { asTensor, checkConvAttrs, convGeometry, padForInputGrad, ConvPad } from './common';

interface Attrs {
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * wasm has this kernel, but as plain loops several times slower than the forward convolution. This one:
 * 1x1 stride-1 is dy W^T (a matmul); otherwise a stride-1 valid convolution of the (dilated, padded) dy
 * with the spatially flipped filter whose in/out channels are swapped. Returns a tensor owned by the caller.
 */
export function conv2dBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; attrs?: unknown }): tf.Tensor {
  const attrs = args.attrs as Attrs;
  checkConvAttrs('Conv2DBackpropInput', attrs);
  return tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(args.inputs.dy, 'Conv2DBackpropInput', 'dy');
    const filter = asTensor<tf.Rank.R4>(args.inputs.filter, 'Conv2DBackpropInput', 'filter');
    const [kh, kw, cin, cout] = filter.shape;
    const info = convGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.pad, attrs.dimRoundingMode, false);
    const p = info.padInfo;
    const noPad = p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
    if (kh === 1 && kw === 1 && info.strideHeight === 1 && info.strideWidth === 1 && noPad) {
      const wT = tf.transpose(tf.reshape(filter, [cin, cout])); // small
      return tf.reshape(tf.matMul(tf.reshape(dy, [-1, cout]) as tf.Tensor2D, wT), attrs.inputShape);
    }
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [kh, kw, Cout, Cin]
    return tf.conv2d(padForInputGrad(dy, info), flipped, 1, 'valid');
  });
}
