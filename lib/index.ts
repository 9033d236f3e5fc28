/**
 * rps-transfer public API: exactly what the notebooks and the CLI import.
 * Each pipeline stage has its own folder; this file only re-exports them.
 */
export * from './engine/index';
export * from './util/index';
export * from './data/index';
export * from './model/index';
export * from './train/index';
export * from './evaluate/index';
export * from './experiment/index';
export * from './report/index';
