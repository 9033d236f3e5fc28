/**
 * rps-transfer public API: exactly what the notebooks and the CLI import.
 * Each pipeline stage has its own folder; this file only re-exports them.
 */
export * from './engine';
export * from './util';
export * from './data';
export * from './model';
export * from './train';
export * from './evaluate';
export * from './report';
