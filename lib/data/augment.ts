/**
 * Seeded image augmentation on uint8 pixels (plain JS bilinear affine warp, white fill). Each image's random
 * parameters depend only on (seed, image index), never on batch composition, so an augmented "view" of a set
 * is reproducible and its features can be cached exactly.
 */
import { cacheKey } from '../util/hash';
import { createRng, derivedSeed } from '../util/random';
import type { PixelSet } from './pixels';

/**
 * Augmentation strengths; 0 or false switches one off. Semantics follow the Keras preprocessing layers used by
 * the TensorFlow transfer-learning tutorial.
 */
export interface AugmentOptions {
  /** Random horizontal flip (probability 0.5), like `RandomFlip('horizontal')`. Default: true. */
  flip?: boolean;
  /**
   * Random rotation as a fraction of a full turn, like Keras `RandomRotation(factor)`: the angle is uniform in
   * [-factor * 2π, +factor * 2π] (0.2 → ±72°). Default: 0.2.
   */
  rotation?: number;
  /** Random zoom: the image is scaled by a factor uniform in [1 - zoom, 1 + zoom] about its centre. Default: 0.1. */
  zoom?: number;
  /** Random brightness: adds a delta uniform in [-brightness, +brightness] × 255. Default: 0.1. */
  brightness?: number;
  /** Random contrast: (x - mean) × f + mean per channel, f uniform in [1 - contrast, 1 + contrast]. Default: 0.1. */
  contrast?: number;
}

/** The defaults above. */
export const DEFAULT_AUGMENT: Required<AugmentOptions> = { flip: true, rotation: 0.2, zoom: 0.1, brightness: 0.1, contrast: 0.1 };

/** Augmentation setting as callers take it: options, or `false` for none. */
export type AugmentSetting = AugmentOptions | false;

const AUGMENT_VERSION = 'augment-v1';

/** The parameters drawn for one image (exported for figures and tests). */
export interface AugmentParams {
  flip: boolean;
  /** Radians, counter-clockwise. */
  angle: number;
  /** Content scale (> 1 zooms in). */
  scale: number;
  /** Added to every channel, in 0..255 units. */
  brightness: number;
  /** Contrast factor about the per-channel mean. */
  contrast: number;
}

function resolve(options: AugmentOptions): Required<AugmentOptions> {
  const o = { ...DEFAULT_AUGMENT, ...options };
  for (const k of ['rotation', 'zoom', 'brightness', 'contrast'] as const) {
    if (!(o[k] >= 0 && o[k] < 1)) throw new Error(`augment.${k}: expected a number in [0, 1), got ${o[k]}`);
  }
  return o;
}

/** The parameters for image `index` under `seed`; draws happen in a fixed order so switching one off keeps the others. */
export function augmentParams(options: AugmentOptions, seed: number, index: number): AugmentParams {
  const o = resolve(options);
  const rng = createRng(derivedSeed(seed, `augment:${index}`));
  const dFlip = rng.next();
  const dRot = rng.uniform(-1, 1);
  const dZoom = rng.uniform(-1, 1);
  const dBright = rng.uniform(-1, 1);
  const dContrast = rng.uniform(-1, 1);
  return {
    flip: o.flip && dFlip < 0.5,
    // A switched-off knob gives exactly the identity (not -0 from a negative draw).
    angle: o.rotation ? dRot * o.rotation * 2 * Math.PI : 0,
    scale: o.zoom ? 1 + dZoom * o.zoom : 1,
    brightness: o.brightness ? dBright * o.brightness * 255 : 0,
    contrast: o.contrast ? 1 + dContrast * o.contrast : 1,
  };
}

/**
 * A new PixelSet with every image augmented (same labels, classes and files; key derived from the source key, the
 * options and the seed). With every augmentation off it returns `set` itself.
 */
export function augmentPixels(set: PixelSet, options: AugmentOptions & { seed: number }): PixelSet {
  const { seed, ...rest } = options;
  const o = resolve(rest);
  if (!o.flip && !o.rotation && !o.zoom && !o.brightness && !o.contrast) return set;
  const per = set.size * set.size * 3;
  const out = new Uint8Array(set.count * per);
  for (let i = 0; i < set.count; i++) {
    const p = augmentParams(o, seed, i);
    augmentImage(set.pixels.subarray(i * per, (i + 1) * per), out.subarray(i * per, (i + 1) * per), set.size, p);
  }
  return { ...set, pixels: out, key: cacheKey(set.key, AUGMENT_VERSION, o, seed) };
}

/** Applies one image's parameters: inverse-mapped bilinear warp (white outside), then contrast and brightness. */
export function augmentImage(src: Uint8Array, dst: Uint8Array, size: number, p: AugmentParams): void {
  const c = (size - 1) / 2;
  const cos = Math.cos(p.angle) / p.scale;
  const sin = Math.sin(p.angle) / p.scale;
  const warped = new Float32Array(size * size * 3);
  const row = size * 3;
  let sumR = 0;
  let sumG = 0;
  let sumB = 0;
  for (let y = 0; y < size; y++) {
    const py = y - c;
    for (let x = 0; x < size; x++) {
      const px = x - c;
      // Output pixel -> source pixel: rotate by -angle, shrink by 1/scale, then mirror for the flip.
      let sx = c + cos * px + sin * py;
      const sy = c - sin * px + cos * py;
      if (p.flip) sx = size - 1 - sx;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      const o = (y * size + x) * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < size && y0 + 1 < size) {
        // Fast path: all four neighbours inside.
        const i = y0 * row + x0 * 3;
        for (let ch = 0; ch < 3; ch++) {
          warped[o + ch] = src[i + ch] * w00 + src[i + 3 + ch] * w10 + src[i + row + ch] * w01 + src[i + row + 3 + ch] * w11;
        }
      } else {
        for (let ch = 0; ch < 3; ch++) {
          warped[o + ch] =
            sample(src, size, x0, y0, ch) * w00 +
            sample(src, size, x0 + 1, y0, ch) * w10 +
            sample(src, size, x0, y0 + 1, ch) * w01 +
            sample(src, size, x0 + 1, y0 + 1, ch) * w11;
        }
      }
      sumR += warped[o];
      sumG += warped[o + 1];
      sumB += warped[o + 2];
    }
  }
  const n = size * size;
  const means = [sumR / n, sumG / n, sumB / n];
  for (let k = 0; k < warped.length; k++) {
    const m = means[k % 3];
    const v = (warped[k] - m) * p.contrast + m + p.brightness;
    dst[k] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
}

/** A source pixel value, white (255) outside the image: the data sets are photographed/rendered on white. */
function sample(src: Uint8Array, size: number, x: number, y: number, ch: number): number {
  if (x < 0 || y < 0 || x >= size || y >= size) return 255;
  return src[(y * size + x) * 3 + ch];
}
