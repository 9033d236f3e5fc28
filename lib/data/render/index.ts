// Public API of the embedded CGI hand renderer (re-exported by lib/data/index.ts).
export { renderDataset } from './dataset';
export type { RenderOptions, RenderSummary } from './dataset';
export { renderHand } from './hand';
export type { RenderHandOptions } from './hand';
export { HAND_POSES } from './params';
export type { HandPose } from './params';
