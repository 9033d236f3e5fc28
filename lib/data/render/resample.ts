/** Box-filter downscaling of RGB images: each output pixel is the area-weighted mean of the source pixels it covers. */

/** Per output coordinate: the first source index and the overlap weights (summing to 1). */
function boxTaps(src: number, dst: number): { start: number; weights: Float64Array }[] {
  const r = src / dst;
  const taps: { start: number; weights: Float64Array }[] = [];
  for (let x = 0; x < dst; x++) {
    const lo = x * r;
    const hi = (x + 1) * r;
    const start = Math.floor(lo);
    const end = Math.min(src, Math.ceil(hi - 1e-9));
    const weights = new Float64Array(end - start);
    for (let i = start; i < end; i++) weights[i - start] = (Math.min(hi, i + 1) - Math.max(lo, i)) / r;
    taps.push({ start, weights });
  }
  return taps;
}

/**
 * Downscales `src` (sw x sh RGB bytes, row-major) to dw x dh with an exact box filter (separable, fractional
 * overlaps weighted), so a rendered image gets the softness of a photo taken at that resolution. Each side
 * must shrink or stay; the same size returns a copy.
 */
export function boxDownscale(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  if (src.length !== sw * sh * 3) throw new Error(`boxDownscale: expected ${sw}x${sh}x3 = ${sw * sh * 3} bytes, got ${src.length}`);
  for (const [name, d, s] of [['width', dw, sw], ['height', dh, sh]] as const) {
    if (!Number.isInteger(d) || d < 1 || d > s) throw new Error(`boxDownscale: ${name} must be an integer in [1, ${s}] (no upscaling), got ${d}`);
  }
  const hx = boxTaps(sw, dw);
  const hy = boxTaps(sh, dh);
  const mid = new Float64Array(sh * dw * 3);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < dw; x++) {
      const { start, weights } = hx[x];
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < weights.length; k++) {
        const p = (y * sw + start + k) * 3;
        r += src[p] * weights[k]; g += src[p + 1] * weights[k]; b += src[p + 2] * weights[k];
      }
      const o = (y * dw + x) * 3;
      mid[o] = r; mid[o + 1] = g; mid[o + 2] = b;
    }
  }
  const out = new Uint8Array(dw * dh * 3);
  for (let y = 0; y < dh; y++) {
    const { start, weights } = hy[y];
    for (let x = 0; x < dw; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < weights.length; k++) {
        const p = ((start + k) * dw + x) * 3;
        r += mid[p] * weights[k]; g += mid[p + 1] * weights[k]; b += mid[p + 2] * weights[k];
      }
      const o = (y * dw + x) * 3;
      out[o] = Math.round(r); out[o + 1] = Math.round(g); out[o + 2] = Math.round(b);
    }
  }
  return out;
}
