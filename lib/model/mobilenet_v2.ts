/**
 * MobileNetV2 built from scratch as a tfjs functional LayersModel, layer for layer like Keras 2.2.4's
 * `keras.applications.MobileNetV2` (the version behind the nsfwjs base): same layer names, explicit
 * `ZeroPadding2D` + `valid` convolution for every stride-2 step, the same channel rounding, BatchNormalization
 * with epsilon 1e-3 and momentum 0.999, ReLU6 as a `ReLU` layer with `maxValue: 6`. Weights are random
 * (seeded initializers), so the network serves benchmarks, tests and training from scratch; pretrained weights
 * can be copied in by layer name because the names match.
 */
import * as tf from '@tensorflow/tfjs';
import { derivedSeed } from '../util/random';

export interface MobileNetV2Options {
  /** Width multiplier: every layer's channel count is scaled by it (then rounded to a multiple of 8). Default 1.0. */
  alpha?: number;
  /** Height and width of the square RGB input, at least 32. Default 224. */
  inputSize?: number;
  /**
   * Classes of the Keras top (`GlobalAveragePooling2D` + softmax `Dense` named `Logits`). Default 0: no top,
   * the output is `out_relu` ([s/32, s/32, 1280] for alpha <= 1).
   */
  numClasses?: number;
  /** Seed of every initializer (each layer derives its own from it). Default: unseeded (different each build). */
  seed?: number;
}

/** Keras' `_make_divisible`: round `v` to the nearest multiple of `divisor`, never going more than 10% down. */
export function mobileNetV2MakeDivisible(v: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/** Keras' `correct_pad` for a 3x3 stride-2 step: pad one more at the bottom/right when the size is even. */
function correctPad(size: number): [[number, number], [number, number]] {
  const adjust = 1 - (size % 2);
  return [
    [1 - adjust, 1],
    [1 - adjust, 1],
  ];
}

/** Builds a MobileNetV2 with Keras' layer names and random weights. The caller owns (and disposes) the model. */
export function buildMobileNetV2(options: MobileNetV2Options = {}): tf.LayersModel {
  const alpha = options.alpha ?? 1.0;
  const inputSize = options.inputSize ?? 224;
  const numClasses = options.numClasses ?? 0;
  const seed = options.seed;
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new Error(`buildMobileNetV2: alpha must be a positive number, got ${alpha}`);
  if (!(Number.isInteger(inputSize) && inputSize >= 32)) {
    throw new Error(`buildMobileNetV2: inputSize must be an integer >= 32, got ${inputSize}`);
  }
  if (!(Number.isInteger(numClasses) && numClasses >= 0)) {
    throw new Error(`buildMobileNetV2: numClasses must be an integer >= 0, got ${numClasses}`);
  }

  const init = (name: string): ReturnType<typeof tf.initializers.glorotUniform> =>
    tf.initializers.glorotUniform(seed === undefined ? {} : { seed: derivedSeed(seed, name) });
  const conv = (x: tf.SymbolicTensor, name: string, filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid') =>
    tf.layers
      .conv2d({ name, filters, kernelSize, strides, padding, useBias: false, kernelInitializer: init(name) })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ name, axis: -1, epsilon: 1e-3, momentum: 0.999 }).apply(x) as tf.SymbolicTensor;
  const relu6 = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ name, maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const spatial = (x: tf.SymbolicTensor) => x.shape[1] as number;

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input_1' });
  const firstFilters = mobileNetV2MakeDivisible(32 * alpha);
  let x = tf.layers.zeroPadding2d({ name: 'Conv1_pad', padding: correctPad(inputSize) }).apply(input) as tf.SymbolicTensor;
  x = conv(x, 'Conv1', firstFilters, 3, 2, 'valid');
  x = bn(x, 'bn_Conv1');
  x = relu6(x, 'Conv1_relu');

  const block = (inp: tf.SymbolicTensor, filters: number, stride: number, expansion: number, id: number) => {
    const inChannels = inp.shape[3] as number;
    const pointwise = mobileNetV2MakeDivisible(Math.floor(filters * alpha));
    const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    let h = inp;
    if (id > 0) {
      h = conv(h, `${prefix}expand`, expansion * inChannels, 1, 1, 'same');
      h = bn(h, `${prefix}expand_BN`);
      h = relu6(h, `${prefix}expand_relu`);
    }
    if (stride === 2) {
      h = tf.layers.zeroPadding2d({ name: `${prefix}pad`, padding: correctPad(spatial(h)) }).apply(h) as tf.SymbolicTensor;
    }
    const dwName = `${prefix}depthwise`;
    h = tf.layers
      .depthwiseConv2d({
        name: dwName,
        kernelSize: 3,
        strides: stride,
        padding: stride === 1 ? 'same' : 'valid',
        depthMultiplier: 1,
        useBias: false,
        depthwiseInitializer: init(dwName),
      })
      .apply(h) as tf.SymbolicTensor;
    h = bn(h, `${prefix}depthwise_BN`);
    h = relu6(h, `${prefix}depthwise_relu`);
    h = conv(h, `${prefix}project`, pointwise, 1, 1, 'same');
    h = bn(h, `${prefix}project_BN`);
    if (inChannels === pointwise && stride === 1) {
      h = tf.layers.add({ name: `${prefix}add` }).apply([inp, h]) as tf.SymbolicTensor;
    }
    return h;
  };

  // [filters, stride, expansion] of blocks 0..16, as in Keras.
  const blocks: [number, number, number][] = [
    [16, 1, 1],
    [24, 2, 6], [24, 1, 6],
    [32, 2, 6], [32, 1, 6], [32, 1, 6],
    [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
    [96, 1, 6], [96, 1, 6], [96, 1, 6],
    [160, 2, 6], [160, 1, 6], [160, 1, 6],
    [320, 1, 6],
  ];
  blocks.forEach(([filters, stride, expansion], id) => {
    x = block(x, filters, stride, expansion, id);
  });

  const lastFilters = alpha > 1.0 ? mobileNetV2MakeDivisible(1280 * alpha) : 1280;
  x = conv(x, 'Conv_1', lastFilters, 1, 1, 'valid');
  x = bn(x, 'Conv_1_bn');
  x = relu6(x, 'out_relu');

  if (numClasses > 0) {
    x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ name: 'Logits', units: numClasses, activation: 'softmax', useBias: true, kernelInitializer: init('Logits') })
      .apply(x) as tf.SymbolicTensor;
  }
  const name = `mobilenetv2_${alpha.toFixed(2)}_${inputSize}`;
  return tf.model({ inputs: input, outputs: x, name });
}
