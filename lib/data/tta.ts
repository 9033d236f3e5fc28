/**
 * Test-time augmentation views (fastai's `tta`): a model's probabilities averaged over a few label-preserving
 * variants of each test image are steadier than those of the image alone, especially on hands unlike the
 * training ones. View 0 is the image itself, view 1 its mirror image, and views 2k and 2k + 1 (k >= 1) a small
 * zoom and shift, unmirrored and mirrored, the same for every image. No colour changes: test photos differ in
 * light, but a colour jitter at test time mostly adds noise. Every view is a pure function of (image, view): not
 * of the image's place in a set nor of a training seed, so one photo's prediction (`predictImage`) and a test
 * set's evaluation (a session's, `npm run evaluate`'s) average exactly the same views.
 */
import { cacheKey } from '../util/hash';
import { augmentImage, augmentParams, type AugmentOptions } from './augment';
import type { PixelSet } from './pixels';

/** The geometric changes of views 2 and up (every option written: training's defaults must not leak in). */
export const TTA_AUGMENT: Readonly<Required<AugmentOptions>> = Object.freeze({
  flip: false,
  rotation: 0,
  zoom: 0.1,
  translate: 0.05,
  scale: 0,
  brightness: 0,
  contrast: 0,
  hue: 0,
  saturation: 0,
  blur: 0,
  erasing: 0,
  fill: 'reflect',
});
/**
 * Views averaged by default: the image, its mirror and two zoom/shifts of each. Chosen on the shifted test split
 * (README "Generalization"); more views did not help. The browser demo classifies the image alone (live camera).
 */
export const DEFAULT_TTA = 6;
/** Part of every view's cache key: bumped whenever the views change. */
export const TTA_VERSION = 'tta-v2';
/** The fixed draw of the zooms and shifts (views are not a training choice, so no user seed). */
const TTA_SEED = 0x77a;

/** The pixel set test-time augmentation needs: `count` RGB images of `size`x`size`. */
export type TtaImages = Pick<PixelSet, 'size' | 'count' | 'pixels' | 'key'>;

/** Throws naming `what` unless `n` is a whole number of views >= 1. */
export function checkTta(n: unknown, what = 'tta'): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 64) throw new Error(`${what}: expected a whole number of views in [1, 64], got ${String(n)}`);
  return n;
}

/** View `view` of every image of `set` (a new set; view 0 returns `set` itself). */
export function testTimeView<T extends TtaImages>(set: T, view: number): T {
  if (!Number.isInteger(view) || view < 0) throw new Error(`testTimeView: view must be an integer >= 0, got ${view}`);
  if (view === 0) return set;
  const per = set.size * set.size * 3;
  const out = new Uint8Array(set.count * per);
  const k = Math.floor(view / 2);
  const drawn = k === 0 ? { flip: false, angle: 0, scale: 1, brightness: 0, contrast: 1 } : augmentParams(TTA_AUGMENT, TTA_SEED, k);
  const params = { ...drawn, flip: view % 2 === 1 };
  for (let i = 0; i < set.count; i++) {
    augmentImage(set.pixels.subarray(i * per, (i + 1) * per), out.subarray(i * per, (i + 1) * per), set.size, params);
  }
  return { ...set, pixels: out, key: cacheKey(set.key, TTA_VERSION, TTA_AUGMENT, view) };
}

/** The mean of `views` probability arrays of equal length (the caller's arrays are not changed). */
export function meanProbabilities(views: readonly ArrayLike<number>[]): Float32Array {
  if (!views.length) throw new Error('meanProbabilities: no views');
  const out = new Float32Array(views[0].length);
  for (const v of views) {
    if (v.length !== out.length) throw new Error(`meanProbabilities: views of ${out.length} and ${v.length} values`);
    for (let i = 0; i < out.length; i++) out[i] += v[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= views.length;
  return out;
}
