/**
 * Kernels that let the wasm backend train convolutional networks (MobileNet-style: Conv2D, DepthwiseConv2D,
 * BatchNormalization, ReLU6, Add, pooling, Dropout, Dense).
 *
 * wasm lacks `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropInput` and
 * `DepthwiseConv2dNativeBackpropFilter`: any gradient through a convolution fails without them. Some of its
 * own kernels work but are slow or wasteful where training needs them (`Conv2DBackpropInput` runs as plain
 * loops; `Sum` and `Mean` over the batch and spatial axes are several times slower than the convolutions
 * around them; `FusedBatchNorm` costs ten times its two broadcasting passes; `Slice` copies its whole input out of the
 * heap first; `Identity` and same-dtype `Cast` copy whole activations), so those are replaced for the cases
 * training hits and defer to the original otherwise. Everything is built from ops wasm runs natively (XNNPACK
 * convolutions and matmuls, pads, transposes); nothing is copied to the `cpu` backend. ./gradients replaces
 * the gradient functions that cost more than the layers they differentiate.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterWasm } from './conv2d_backprop_filter';
import { conv2dBackpropInputWasm } from './conv2d_backprop_input';
import { depthwiseBackpropFilterWasm } from './depthwise_backprop_filter';
import { depthwiseBackpropInputWasm } from './depthwise_backprop_input';
import { fastReduceKernel } from './reduce';
import { fastBatchNormKernel } from './batchnorm';
import { heapSliceKernel } from './slice';
import { sameDtypeCastKernel, sharingIdentityKernel } from './cast';
import { registerWasmTrainingGradients } from './gradients';

/** Marks our kernel functions, also across two loaded copies of this module (a notebook and the library). */
const MARK = Symbol.for('rps-transfer.wasmTrainingKernel');

type AnyKernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }) => tf.TensorInfo | tf.TensorInfo[];

/** Each kernel: how to build ours, given wasm's own (undefined where wasm lacks it). */
const KERNELS: Record<string, (original?: AnyKernelFunc) => AnyKernelFunc> = {
  Conv2DBackpropFilter: () => conv2dBackpropFilterWasm,
  DepthwiseConv2dNativeBackpropFilter: () => depthwiseBackpropFilterWasm,
  DepthwiseConv2dNativeBackpropInput: () => depthwiseBackpropInputWasm,
  Conv2DBackpropInput: () => conv2dBackpropInputWasm,
  Sum: (original) => fastReduceKernel('Sum', required('Sum', original)),
  Mean: (original) => fastReduceKernel('Mean', required('Mean', original)),
  FusedBatchNorm: (original) => fastBatchNormKernel(required('FusedBatchNorm', original)),
  Slice: (original) => heapSliceKernel(required('Slice', original)),
  Cast: (original) => sameDtypeCastKernel(required('Cast', original)),
  Identity: (original) => sharingIdentityKernel(required('Identity', original)),
};

function required(name: string, original: AnyKernelFunc | undefined): AnyKernelFunc {
  if (!original) throw new Error(`registerWasmTrainingKernels: wasm's own '${name}' kernel is missing`);
  return original;
}

/** The kernels this module registers for wasm (added where missing, or replacing wasm's own). */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.keys(KERNELS);

/** True when the wasm kernel `name` is the one this module registered. */
export function isWasmTrainingKernel(name: string): boolean {
  const fn = tf.getKernel(name, 'wasm')?.kernelFunc as unknown as Record<symbol, unknown> | undefined;
  return fn?.[MARK] === true;
}

/**
 * Registers the wasm training kernels (and the gradient shortcuts in ./gradients, which act on wasm only).
 * Idempotent: kernels already registered by an earlier call are left alone, so re-running a notebook cell
 * neither throws nor warns.
 */
export function registerWasmTrainingKernels(): void {
  // The wasm package registers its own kernels on load; load it first so ours replace, not precede, them.
  require('@tensorflow/tfjs-backend-wasm');
  for (const [kernelName, build] of Object.entries(KERNELS)) {
    if (isWasmTrainingKernel(kernelName)) continue;
    const existing = tf.getKernel(kernelName, 'wasm');
    const kernelFunc = build(existing?.kernelFunc as unknown as AnyKernelFunc | undefined);
    if (!(kernelFunc as unknown as Record<symbol, unknown>)[MARK]) Object.defineProperty(kernelFunc, MARK, { value: true });
    if (existing) tf.unregisterKernel(kernelName, 'wasm');
    // A replaced kernel keeps its setup/dispose hooks: the backend calls them when it initialises.
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      setupFunc: existing?.setupFunc,
      disposeFunc: existing?.disposeFunc,
    });
  }
  registerWasmTrainingGradients();
}
