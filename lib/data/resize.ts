/**
 * The resize every image goes through before a network sees it: alpha composited on white, then a separable
 * antialiased triangle filter (widened by the scale factor, like PIL's bilinear) to the target size. Pure and
 * dependency-free, so the browser demo (lib/demo/) bundles this same code and sees the same pixels as training.
 */

/** Composites RGBA on white and resizes to `dw x dh` RGB (separable antialiased triangle filter). */
export function resizeRgbaOnWhite(rgba: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const rgb = new Float32Array(sw * sh * 3);
  for (let i = 0, j = 0; i < sw * sh; i++, j += 3) {
    const a = rgba[i * 4 + 3] / 255;
    const w = 255 * (1 - a);
    rgb[j] = rgba[i * 4] * a + w;
    rgb[j + 1] = rgba[i * 4 + 1] * a + w;
    rgb[j + 2] = rgba[i * 4 + 2] * a + w;
  }
  const out = new Uint8Array(dw * dh * 3);
  if (sw === dw && sh === dh) {
    for (let i = 0; i < out.length; i++) out[i] = Math.round(rgb[i]);
    return out;
  }
  const hx = filterTaps(sw, dw);
  const hy = filterTaps(sh, dh);
  // Horizontal pass: sh rows of dw pixels.
  const mid = new Float32Array(sh * dw * 3);
  for (let y = 0; y < sh; y++) {
    const row = y * sw * 3;
    for (let x = 0; x < dw; x++) {
      const { start, weights } = hx[x];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < weights.length; k++) {
        const p = row + (start + k) * 3;
        const w = weights[k];
        r += rgb[p] * w;
        g += rgb[p + 1] * w;
        b += rgb[p + 2] * w;
      }
      const o = (y * dw + x) * 3;
      mid[o] = r;
      mid[o + 1] = g;
      mid[o + 2] = b;
    }
  }
  // Vertical pass.
  for (let y = 0; y < dh; y++) {
    const { start, weights } = hy[y];
    for (let x = 0; x < dw; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < weights.length; k++) {
        const p = ((start + k) * dw + x) * 3;
        const w = weights[k];
        r += mid[p] * w;
        g += mid[p + 1] * w;
        b += mid[p + 2] * w;
      }
      const o = (y * dw + x) * 3;
      out[o] = clampByte(r);
      out[o + 1] = clampByte(g);
      out[o + 2] = clampByte(b);
    }
  }
  return out;
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Normalised triangle-filter taps for each output coordinate; the filter widens when downscaling (antialiasing). */
function filterTaps(src: number, dst: number): { start: number; weights: Float32Array }[] {
  const scale = src / dst;
  const width = Math.max(scale, 1);
  const taps: { start: number; weights: Float32Array }[] = [];
  for (let x = 0; x < dst; x++) {
    const center = (x + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - width));
    const hi = Math.min(src, Math.ceil(center + width));
    const weights = new Float32Array(hi - lo);
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - center) / width));
      weights[i - lo] = w;
      sum += w;
    }
    for (let k = 0; k < weights.length; k++) weights[k] /= sum;
    taps.push({ start: lo, weights });
  }
  return taps;
}
