// Public API of lib/report (re-exported by lib/index.ts): what notebooks call. The runner (runner.ts,
// kernel.ts, render.ts) is imported directly by scripts/start.ts and tests; keeping it out of here keeps
// the notebook kernel's compile small.
export * from './display';
export * from './params';
export { escapeHtml } from './html';
export type { PlotlyFigure } from './figures/types';
export * from './gallery';
export * from './figures/data';
export * from './conclusion';
export * from './figures/network';
export * from './figures/training';
export * from './figures/evaluation';
export * from './figures/gradcam';
export * from './figures/runs';
export * from './runs';
export * from './figures/lr_finder';
