/**
 * `AddN` for the webgpu backend with any number of inputs. tfjs' own binds every input as a storage buffer of
 * ONE shader, but a WebGPU device allows only `maxStorageBuffersPerShaderStage` of them (8 unless asked for
 * more, and tfjs does not ask): with more inputs the shader is invalid, and WebGPU then drops the whole command
 * buffer holding it, every other op of the step included, so training runs on silently wrong numbers. The
 * training loop's finiteness check sums one term per gradient, so this happens on every step with more than a
 * few trainable weights. Ours sums groups that fit with the original kernel, then sums the partial sums.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }) => tf.TensorInfo;

interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: tf.DataId): void;
}

/** Marks our kernel function, also across two loaded copies of this module (a notebook and the library). */
const MARK = Symbol.for('rps-transfer.webgpuAddN');

/** An AddN kernel function that never binds more inputs than the device allows, built on `original`. */
export function groupedAddN(original: KernelFunc): KernelFunc {
  const addN: KernelFunc = (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const backend = args.backend as WebGpuBackendLike;
    // One storage buffer is the output.
    const group = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    if (inputs.length <= group) return original(args);
    const partial: tf.TensorInfo[] = [];
    try {
      for (let i = 0; i < inputs.length; i += group) partial.push(original({ ...args, inputs: inputs.slice(i, i + group) as unknown as tf.NamedTensorInfoMap }));
      return addN({ ...args, inputs: partial as unknown as tf.NamedTensorInfoMap });
    } finally {
      for (const p of partial) backend.disposeData(p.dataId);
    }
  };
  Object.defineProperty(addN, MARK, { value: true });
  return addN;
}

/** Replaces the webgpu backend's AddN by `groupedAddN` of it. Idempotent; a no-op before the backend package is loaded. */
export function registerWebGpuAddN(): void {
  const existing = tf.getKernel('AddN', 'webgpu');
  if (!existing || (existing.kernelFunc as unknown as Record<symbol, unknown>)[MARK]) return;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: groupedAddN(existing.kernelFunc as unknown as KernelFunc) as unknown as tf.KernelFunc,
    setupFunc: existing.setupFunc,
    disposeFunc: existing.disposeFunc,
  });
}
