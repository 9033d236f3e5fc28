/** `Conv2DBackpropFilter` for wasm: the gradient of a convolution with respect to its filter. */
import * as tf from '@tensorflow/tfjs';
import { asTensor, checkConvAttrs, convGeometry, cropFilter, matMulTransposeA, padLikeForward, ConvPad } from './common';

interface Attrs {
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * dW[i, j, ci, co] = sum over n, h, w of xPadded[n, h*s + i, w*s + j, ci] * dy[n, h, w, co].
 * 1x1 stride-1: one matmul (x^T dy). Otherwise the classic trick: a stride-1 convolution whose "batch" is the
 * input channels, whose "input channels" are the examples and whose filter is dy dilated by the stride.
 * Returns a tensor owned by the engine's caller.
 */
export function conv2dBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; attrs?: unknown }): tf.Tensor {
  const attrs = args.attrs as Attrs;
  checkConvAttrs('Conv2DBackpropFilter', attrs);
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(args.inputs.x, 'Conv2DBackpropFilter', 'x');
    const dy = asTensor<tf.Rank.R4>(args.inputs.dy, 'Conv2DBackpropFilter', 'dy');
    const [kh, kw, cin, cout] = attrs.filterShape;
    const info = convGeometry(x.shape, attrs.filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode, false);
    const p = info.padInfo;
    const noPad = p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
    if (kh === 1 && kw === 1 && info.strideHeight === 1 && info.strideWidth === 1 && noPad) {
      const x2 = tf.reshape(x, [-1, cin]) as tf.Tensor2D;
      const d2 = tf.reshape(dy, [-1, cout]) as tf.Tensor2D;
      return tf.reshape(matMulTransposeA(x2, d2), attrs.filterShape);
    }
    const xt = tf.transpose(padLikeForward(x, info), [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, Hp, Wp, N]
    const filter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Cout]
    const out = tf.conv2d(xt, filter, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]); // [Cin, >=kh, >=kw, Cout]
    return tf.transpose(cropFilter(out, kh, kw), [1, 2, 0, 3]);
  });
}
