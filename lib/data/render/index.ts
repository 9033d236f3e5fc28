// Public API of the embedded CGI hand renderer (re-exported by lib/data/index.ts).
export { renderDataset } from './dataset';
export type { RenderOptions, RenderSummary } from './dataset';
export { renderHand } from './hand';
export type { RenderHandOptions } from './hand';
export { HAND_POSES, HAND_DOMAINS, SPLIT_DESIGNS, HELD_OUT, POLISH, domainBands, heldOutRanges, splitDomain } from './params';
export type { HandPose, HandDomain, SplitDesign, HeldOutRange, HeldOutParam, HeldOutRow, Interval } from './params';
export { boxDownscale } from './resample';
