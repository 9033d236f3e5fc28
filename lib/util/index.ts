export * from './atomic';
export * from './hash';
export * from './random';
