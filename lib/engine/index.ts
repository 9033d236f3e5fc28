export * from './engine';
export { registerWasmTrainingKernels } from './kernels/index';
