export * from './engine';
export { describeAdapter, isSoftwareAdapter, type GpuAdapterDescription } from './webgpu';
export { registerWasmTrainingKernels } from './kernels/index';
