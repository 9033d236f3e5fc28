import * as tf from '@tensorflow/tfjs';
import { batchNormInvariantSuite } from './bn-invariants';

// Conv gradients on wasm need the kernels lib/engine/kernels registers; without them only the head can train.
const NEEDED = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'];

batchNormInvariantSuite('wasm', () => {
  const missing = NEEDED.filter((k) => !tf.getKernel(k, 'wasm'));
  return missing.length ? `wasm lacks ${missing.join(', ')} (lib/engine/kernels)` : undefined;
});
