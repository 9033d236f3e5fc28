/**
 * Seeded image augmentation on uint8 pixels (plain JS): an affine warp (flip, rotation, zoom, per-axis scale,
 * translation; bilinear, uncovered pixels filled from the image border), then blur, hue/saturation, contrast and
 * brightness, then random erasing. Each image's random parameters depend only on (seed, image index), never on
 * batch composition, so an augmented "view" of a set is reproducible and its features can be cached exactly.
 */
import { cacheKey } from '../util/hash';
import { createRng, derivedSeed } from '../util/random';
import type { PixelSet } from './pixels';

/** How a warp fills pixels it uncovers: mirrored at the border (`reflect`, Keras' default) or the edge pixel repeated. */
export const FILL_MODES = ['reflect', 'replicate'] as const;
export type FillMode = (typeof FILL_MODES)[number];

/**
 * Augmentation strengths; 0 or false switches one off. The first five follow the Keras preprocessing layers used
 * by the TensorFlow transfer-learning tutorial; the wider ones (translate .. erasing) are off by default.
 */
export interface AugmentOptions {
  /** Random horizontal flip (probability 0.5), like `RandomFlip('horizontal')`. Default: see `DEFAULT_AUGMENT`. */
  flip?: boolean;
  /**
   * Random rotation as a fraction of a full turn, like Keras `RandomRotation(factor)`: the angle is uniform in
   * [-factor * 2π, +factor * 2π] (0.2 → ±72°). Default: see `DEFAULT_AUGMENT`.
   */
  rotation?: number;
  /** Random zoom: the image is scaled by a factor uniform in [1 - zoom, 1 + zoom] about its centre. Default: see `DEFAULT_AUGMENT`. */
  zoom?: number;
  /** Random brightness: adds a delta uniform in [-brightness, +brightness] × 255. Default: see `DEFAULT_AUGMENT`. */
  brightness?: number;
  /** Random contrast: (x - mean) × f + mean per channel, f uniform in [1 - contrast, 1 + contrast]. Default: see `DEFAULT_AUGMENT`. */
  contrast?: number;
  /**
   * Random translation as a fraction of the image side, like Keras `RandomTranslation(t, t)`: the content moves by
   * a shift uniform in [-t, t] × side, independently along x and y. In [0, 1). Default: see `DEFAULT_AUGMENT`.
   */
  translate?: number;
  /**
   * Random per-axis scale: x and y are scaled by independent factors uniform in [1 - scale, 1 + scale] (on top of
   * `zoom`, which scales both alike), so the aspect ratio changes. In [0, 1). Default: see `DEFAULT_AUGMENT`.
   */
  scale?: number;
  /**
   * Random hue shift as a fraction of the colour wheel, like `tf.image.random_hue(max_delta)`: the chroma (YIQ's
   * I and Q) turns by an angle uniform in [-hue, +hue] × 2π; luma is kept. In [0, 0.5]. Default: see `DEFAULT_AUGMENT`.
   */
  hue?: number;
  /** Random saturation: chroma × f, f uniform in [1 - saturation, 1 + saturation]; luma is kept. In [0, 1]. Default: see `DEFAULT_AUGMENT`. */
  saturation?: number;
  /** Random Gaussian blur: σ uniform in [0, blur] pixels of the augmented image (the border filled as `fill`). In [0, 8]. Default: see `DEFAULT_AUGMENT`. */
  blur?: number;
  /**
   * Random erasing (Zhong et al., torchvision `RandomErasing`): with this probability, a rectangle of 2-33 % of the
   * image with an aspect ratio in [0.3, 3.3] (log-uniform) is replaced by seeded uniform noise, after every other
   * step. In [0, 1]. Default: see `DEFAULT_AUGMENT`.
   */
  erasing?: number;
  /** How the warp fills uncovered pixels: `reflect` or `replicate` (never a constant colour). Default: see `DEFAULT_AUGMENT`. */
  fill?: FillMode;
}

/** The defaults above. */
export const DEFAULT_AUGMENT: Required<AugmentOptions> = {
  flip: true,
  rotation: 0.2,
  zoom: 0.2,
  brightness: 0.1,
  contrast: 0.1,
  translate: 0.1,
  scale: 0.1,
  hue: 0.05,
  saturation: 0.3,
  blur: 0,
  erasing: 0,
  fill: 'reflect',
};

/** Augmentation setting as callers take it: options, or `false` for none. */
export type AugmentSetting = AugmentOptions | false;

/** Bumped when the output of augmentation changes (v2: border fill instead of white, the wider options). */
const AUGMENT_VERSION = 'augment-v2';

/** The erased rectangle, as fractions of the image side, and the seed of its noise. */
export interface EraseRect {
  x: number;
  y: number;
  w: number;
  h: number;
  seed: number;
}

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
  /** Content shift as fractions of the side (x right, y down). Default 0. */
  translateX?: number;
  translateY?: number;
  /** Extra per-axis content scale factors. Default 1. */
  scaleX?: number;
  scaleY?: number;
  /** Chroma rotation, radians. Default 0. */
  hue?: number;
  /** Chroma factor. Default 1. */
  saturation?: number;
  /** Gaussian σ in pixels. Default 0. */
  blur?: number;
  /** The rectangle replaced by noise, if any. */
  erase?: EraseRect;
  /** Border fill of the warp. Default 'reflect'. */
  fill?: FillMode;
}

const RANGES = {
  rotation: [0, 1, false],
  zoom: [0, 1, false],
  brightness: [0, 1, false],
  contrast: [0, 1, false],
  translate: [0, 1, false],
  scale: [0, 1, false],
  hue: [0, 0.5, true],
  saturation: [0, 1, true],
  blur: [0, 8, true],
  erasing: [0, 1, true],
} as const;

function resolve(options: AugmentOptions): Required<AugmentOptions> {
  const o = { ...DEFAULT_AUGMENT, ...options };
  for (const [k, [lo, hi, closed]] of Object.entries(RANGES) as [keyof typeof RANGES, readonly [number, number, boolean]][]) {
    const v = o[k];
    if (!(v >= lo && (closed ? v <= hi : v < hi))) throw new Error(`augment.${k}: expected a number in [${lo}, ${hi}${closed ? ']' : ')'}, got ${v}`);
  }
  if (!FILL_MODES.includes(o.fill)) throw new Error(`augment.fill: expected one of ${FILL_MODES.join(', ')}, got ${String(o.fill)}`);
  return o;
}

/** Whether `o` changes nothing at all. */
function isIdentity(o: Required<AugmentOptions>): boolean {
  return !o.flip && !o.rotation && !o.zoom && !o.brightness && !o.contrast && !o.translate && !o.scale && !o.hue && !o.saturation && !o.blur && !o.erasing;
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
  const dTx = rng.uniform(-1, 1);
  const dTy = rng.uniform(-1, 1);
  const dSx = rng.uniform(-1, 1);
  const dSy = rng.uniform(-1, 1);
  const dHue = rng.uniform(-1, 1);
  const dSat = rng.uniform(-1, 1);
  const dBlur = rng.next();
  const dErase = rng.next();
  const dArea = rng.uniform(0.02, 0.33);
  const dAspect = Math.exp(rng.uniform(Math.log(0.3), Math.log(3.3)));
  const dEx = rng.next();
  const dEy = rng.next();
  const eraseSeed = rng.seed();
  const p: AugmentParams = {
    flip: o.flip && dFlip < 0.5,
    // A switched-off knob gives exactly the identity (not -0 from a negative draw).
    angle: o.rotation ? dRot * o.rotation * 2 * Math.PI : 0,
    scale: o.zoom ? 1 + dZoom * o.zoom : 1,
    brightness: o.brightness ? dBright * o.brightness * 255 : 0,
    contrast: o.contrast ? 1 + dContrast * o.contrast : 1,
    translateX: o.translate ? dTx * o.translate : 0,
    translateY: o.translate ? dTy * o.translate : 0,
    scaleX: o.scale ? 1 + dSx * o.scale : 1,
    scaleY: o.scale ? 1 + dSy * o.scale : 1,
    hue: o.hue ? dHue * o.hue * 2 * Math.PI : 0,
    saturation: o.saturation ? 1 + dSat * o.saturation : 1,
    blur: o.blur ? dBlur * o.blur : 0,
    fill: o.fill,
  };
  if (o.erasing && dErase < o.erasing) {
    const w = Math.min(1, Math.sqrt(dArea * dAspect));
    const h = Math.min(1, Math.sqrt(dArea / dAspect));
    p.erase = { x: dEx * (1 - w), y: dEy * (1 - h), w, h, seed: eraseSeed };
  }
  return p;
}

/**
 * A new PixelSet with every image augmented (same labels, classes and files; key derived from the source key, the
 * options and the seed). With every augmentation off it returns `set` itself.
 */
export function augmentPixels(set: PixelSet, options: AugmentOptions & { seed: number }): PixelSet {
  const { seed, ...rest } = options;
  const o = resolve(rest);
  if (isIdentity(o)) return set;
  const per = set.size * set.size * 3;
  const out = new Uint8Array(set.count * per);
  for (let i = 0; i < set.count; i++) {
    const p = augmentParams(o, seed, i);
    augmentImage(set.pixels.subarray(i * per, (i + 1) * per), out.subarray(i * per, (i + 1) * per), set.size, p);
  }
  return { ...set, pixels: out, key: cacheKey(set.key, AUGMENT_VERSION, o, seed) };
}

/** A source index folded back into [0, n): mirrored (… 1 0 | 0 1 … n-1 | n-1 n-2 …) or clamped to the edge. */
function borderIndex(i: number, n: number, fill: FillMode): number {
  if (i >= 0 && i < n) return i;
  if (fill === 'replicate') return i < 0 ? 0 : n - 1;
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/**
 * Applies one image's parameters: inverse-mapped bilinear warp (uncovered pixels from the border), blur, hue and
 * saturation, contrast and brightness, then erasing.
 */
export function augmentImage(src: Uint8Array, dst: Uint8Array, size: number, p: AugmentParams): void {
  const fill = p.fill ?? 'reflect';
  const c = (size - 1) / 2;
  const cos = Math.cos(p.angle);
  const sin = Math.sin(p.angle);
  const kx = 1 / (p.scale * (p.scaleX ?? 1));
  const ky = 1 / (p.scale * (p.scaleY ?? 1));
  const tx = (p.translateX ?? 0) * size;
  const ty = (p.translateY ?? 0) * size;
  const warped = new Float32Array(size * size * 3);
  const row = size * 3;
  for (let y = 0; y < size; y++) {
    const py = y - c - ty;
    for (let x = 0; x < size; x++) {
      const px = x - c - tx;
      // Output pixel -> source pixel: undo the shift, rotate by -angle, undo the scales, then mirror for the flip.
      let sx = c + kx * (cos * px + sin * py);
      const sy = c + ky * (-sin * px + cos * py);
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
        const xa = borderIndex(x0, size, fill) * 3;
        const xb = borderIndex(x0 + 1, size, fill) * 3;
        const ya = borderIndex(y0, size, fill) * row;
        const yb = borderIndex(y0 + 1, size, fill) * row;
        for (let ch = 0; ch < 3; ch++) {
          warped[o + ch] = src[ya + xa + ch] * w00 + src[ya + xb + ch] * w10 + src[yb + xa + ch] * w01 + src[yb + xb + ch] * w11;
        }
      }
    }
  }
  const img = p.blur ? gaussianBlur(warped, size, p.blur, fill) : warped;
  if ((p.hue ?? 0) !== 0 || (p.saturation ?? 1) !== 1) rotateChroma(img, p.hue ?? 0, p.saturation ?? 1);
  let sumR = 0;
  let sumG = 0;
  let sumB = 0;
  for (let k = 0; k < img.length; k += 3) {
    sumR += img[k];
    sumG += img[k + 1];
    sumB += img[k + 2];
  }
  const n = size * size;
  const means = [sumR / n, sumG / n, sumB / n];
  for (let k = 0; k < img.length; k++) {
    const m = means[k % 3];
    const v = (img[k] - m) * p.contrast + m + p.brightness;
    dst[k] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  if (p.erase) eraseRect(dst, size, p.erase);
}

/** Separable Gaussian blur (taps to 3σ), the border extended as `fill`. Returns a new buffer. */
function gaussianBlur(img: Float32Array, size: number, sigma: number, fill: FillMode): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const taps = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let k = -r; k <= r; k++) sum += taps[k + r] = Math.exp((-k * k) / (2 * sigma * sigma));
  for (let k = 0; k < taps.length; k++) taps[k] /= sum;
  const pass = (from: Float32Array, horizontal: boolean): Float32Array => {
    const to = new Float32Array(from.length);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let a = 0, b = 0, g = 0;
        for (let k = -r; k <= r; k++) {
          const i = horizontal ? (y * size + borderIndex(x + k, size, fill)) * 3 : (borderIndex(y + k, size, fill) * size + x) * 3;
          const w = taps[k + r];
          a += from[i] * w; g += from[i + 1] * w; b += from[i + 2] * w;
        }
        const o = (y * size + x) * 3;
        to[o] = a; to[o + 1] = g; to[o + 2] = b;
      }
    }
    return to;
  };
  return pass(pass(img, true), false);
}

/** Turns the chroma (YIQ's I, Q) by `angle` and scales it by `saturation`, in place; luma Y is unchanged. */
function rotateChroma(img: Float32Array, angle: number, saturation: number): void {
  const cs = Math.cos(angle) * saturation;
  const sn = Math.sin(angle) * saturation;
  for (let k = 0; k < img.length; k += 3) {
    const r = img[k], g = img[k + 1], b = img[k + 2];
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const i0 = 0.595716 * r - 0.274453 * g - 0.321263 * b;
    const q0 = 0.211456 * r - 0.522591 * g + 0.311135 * b;
    const i = cs * i0 - sn * q0;
    const q = sn * i0 + cs * q0;
    img[k] = y + 0.9563 * i + 0.621 * q;
    img[k + 1] = y - 0.2721 * i - 0.6474 * q;
    img[k + 2] = y - 1.107 * i + 1.7046 * q;
  }
}

/** Replaces the rectangle with seeded uniform noise. */
function eraseRect(dst: Uint8Array, size: number, e: EraseRect): void {
  const { x0, y0, x1, y1 } = erasedPixels(e, size);
  const rng = createRng(e.seed);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) dst[o + ch] = rng.int(256);
    }
  }
}

/** The pixel rectangle [x0, x1) x [y0, y1) that `erase` covers in an image of `size` (for tests and figures). */
export function erasedPixels(e: EraseRect, size: number): { x0: number; y0: number; x1: number; y1: number } {
  const x0 = Math.round(e.x * size);
  const y0 = Math.round(e.y * size);
  return { x0, y0, x1: Math.min(size, Math.max(x0 + 1, Math.round((e.x + e.w) * size))), y1: Math.min(size, Math.max(y0 + 1, Math.round((e.y + e.h) * size))) };
}
