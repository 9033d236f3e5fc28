export * from './atomic';
export * from './hash';
export * from './random';
export * from './png';
export * from './download';
export * from './zip';
export * from './interrupt';
export * from './file_memo';
