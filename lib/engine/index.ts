export * from './engine';
export { registerWasmTrainingKernels } from './kernels';
