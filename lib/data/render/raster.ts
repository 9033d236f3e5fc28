/**
 * Rasteriser for the hand primitives: an orthographic ray cast per pixel (exact capsule and ellipsoid
 * intersections, z-buffer between parts), analytic anti-aliasing from each part's projected outline,
 * wrapped-diffuse + specular skin shading with contact darkening between fingers, lighter palms, nails,
 * and a blurred drop shadow on an off-white background with soft folds.
 * Shading happens in linear light; the result is sRGB bytes.
 */
import { HandParams } from './params';
import { HandPart } from './skeleton';

const TILE = 16;

/** Scratch for one part's evaluation at one pixel. */
interface Hit {
  cov: number;
  z: number;
  nx: number; ny: number; nz: number;
  /** Signed 2-D distance to the part's outline (negative inside), and the part's depth near the pixel. */
  edge: number;
  zTop: number;
  hx: number; hy: number; hz: number;
}

const newHit = (): Hit => ({ cov: 0, z: 0, nx: 0, ny: 0, nz: 1, edge: 0, zTop: 0, hx: 0, hy: 0, hz: 0 });

/** Signed 2-D distance from (px,py) to the outline of the projected round cone (iq's uneven capsule). */
function unevenCapsuleDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number, ra: number, rb: number): number {
  const ux = bx - ax, uy = by - ay;
  const h = ux * ux + uy * uy;
  const dr = ra - rb;
  const pxr = px - ax, pyr = py - ay;
  if (h <= dr * dr + 1e-9) {
    // Seen end-on: one sphere hides the other.
    return ra >= rb ? Math.sqrt(pxr * pxr + pyr * pyr) - ra : Math.hypot(px - bx, py - by) - rb;
  }
  const qx = Math.abs(pxr * uy - pyr * ux) / h;
  const qy = (pxr * ux + pyr * uy) / h;
  const cx = Math.sqrt(h - dr * dr), cy = dr;
  const k = cx * qy - cy * qx;
  const m = cx * qx + cy * qy;
  const n = qx * qx + qy * qy;
  if (k < 0) return Math.sqrt(h * n) - ra;
  if (k > cx) return Math.sqrt(h * (n + 1 - 2 * qy)) - rb;
  return m - ra;
}

/**
 * A round cone (two spheres, radii r at a and r2 at b, and the cone tangent to both) hit by the view ray
 * through (px, py), using Inigo Quilez's analytic intersection. Its outline is exactly the uneven capsule
 * of the projected end circles, which gives the anti-aliasing coverage.
 */
function evalCapsule(q: HandPart, px: number, py: number, h: Hit): void {
  const bax = q.bx - q.ax, bay = q.by - q.ay, baz = q.bz - q.az;
  const ra = q.r, rb = q.r2;
  const l2 = bax * bax + bay * bay;
  let t2 = l2 > 1e-9 ? ((px - q.ax) * bax + (py - q.ay) * bay) / l2 : q.az > q.bz ? 0 : 1;
  t2 = t2 < 0 ? 0 : t2 > 1 ? 1 : t2;
  const cz = q.az + baz * t2;
  const rt = ra + (rb - ra) * t2;
  h.edge = unevenCapsuleDistance(px, py, q.ax, q.ay, q.bx, q.by, ra, rb);
  h.zTop = cz + rt * 0.5;
  const cov = 0.5 - h.edge;
  h.cov = cov <= 0 ? 0 : cov >= 1 ? 1 : cov;
  if (h.cov === 0) return;
  // Ray from above the part straight down the view axis: ro = (px, py, z0), rd = (0, 0, -1).
  const z0 = Math.max(q.az + ra, q.bz + rb) + 1;
  const oax = px - q.ax, oay = py - q.ay, oaz = z0 - q.az;
  const obz = z0 - q.bz;
  const rr = ra - rb;
  const m0 = bax * bax + bay * bay + baz * baz;
  const m1 = bax * oax + bay * oay + baz * oaz;
  const m2 = -baz;
  const m3 = -oaz;
  const m5 = oax * oax + oay * oay + oaz * oaz;
  const m6 = -obz;
  const obx = px - q.bx, oby = py - q.by;
  const m7 = obx * obx + oby * oby + obz * obz;
  const d2 = m0 - rr * rr;
  const k2 = d2 - m2 * m2;
  const k1 = d2 * m3 - m1 * m2 + m2 * rr * ra;
  const k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2 - m0 * ra * ra;
  const disc = k1 * k1 - k0 * k2;
  let t = -1;
  let nx = 0, ny = 0, nz = 0;
  if (disc >= 0 && d2 > 1e-9 && Math.abs(k2) > 1e-9 * m0) {
    const tb = (-Math.sqrt(disc) - k1) / k2;
    const y = m1 - ra * rr + tb * m2;
    if (y > 0 && y < d2) {
      t = tb;
      nx = d2 * oax - bax * y;
      ny = d2 * oay - bay * y;
      nz = d2 * (oaz - tb) - baz * y;
    }
  }
  if (t < 0) {
    // End caps: the nearer of the two spheres' front surfaces.
    const h1 = m3 * m3 - m5 + ra * ra;
    const h2 = m6 * m6 - m7 + rb * rb;
    let best = 1e20;
    if (h1 > 0) {
      const tc = -m3 - Math.sqrt(h1);
      best = tc; nx = oax; ny = oay; nz = oaz - tc;
    }
    if (h2 > 0) {
      const tc = -m6 - Math.sqrt(h2);
      if (tc < best) { best = tc; nx = obx; ny = oby; nz = obz - tc; }
    }
    if (best < 1e20) t = best;
  }
  if (t < 0) {
    // Anti-aliasing band just outside the outline: the silhouette faces sideways.
    const cx = q.ax + bax * t2, cy = q.ay + bay * t2;
    const ddx = px - cx, ddy = py - cy;
    const d = Math.sqrt(ddx * ddx + ddy * ddy);
    const inv = d > 1e-9 ? 1 / d : 0;
    h.z = cz;
    h.nx = ddx * inv; h.ny = ddy * inv; h.nz = 0;
    h.hx = px; h.hy = py; h.hz = cz;
    return;
  }
  const nl = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
  h.z = z0 - t;
  h.nx = nx / nl; h.ny = ny / nl; h.nz = nz / nl;
  h.hx = px; h.hy = py; h.hz = h.z;
}

function evalEllipsoid(q: HandPart, px: number, py: number, h: Hit): void {
  const vx = px - q.ax, vy = py - q.ay;
  const p = q.p, m = q.m;
  const q2 = p[0] * vx * vx + 2 * p[1] * vx * vy + p[2] * vy * vy;
  const gx = p[0] * vx + p[1] * vy, gy = p[1] * vx + p[2] * vy;
  const gl = Math.sqrt(gx * gx + gy * gy);
  const qq = Math.sqrt(q2);
  // Distance to the outline from the normalised radius and its gradient (exact on the outline itself).
  h.edge = gl > 1e-12 ? ((qq - 1) * qq) / gl : -1e9;
  const cov = 0.5 - h.edge;
  h.cov = cov <= 0 ? 0 : cov >= 1 ? 1 : cov;
  const A = m[5];
  const B = m[2] * vx + m[4] * vy;
  const D = A * Math.max(0, 1 - q2);
  const w = (-B + Math.sqrt(D)) / A;
  h.z = q.az + w;
  h.zTop = h.z;
  if (h.cov === 0) return;
  let nx = m[0] * vx + m[1] * vy + m[2] * w;
  let ny = m[1] * vx + m[3] * vy + m[4] * w;
  let nz = m[2] * vx + m[4] * vy + m[5] * w;
  const nl = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
  nx /= nl; ny /= nl; nz /= nl;
  h.nx = nx; h.ny = ny; h.nz = nz;
  h.hx = px; h.hy = py; h.hz = h.z;
}

const toLinear = (c: number): number => Math.pow(c / 255, 2.2);

function smoothstep(e0: number, e1: number, x: number): number {
  const t = (x - e0) / (e1 - e0);
  const u = t < 0 ? 0 : t > 1 ? 1 : t;
  return u * u * (3 - 2 * u);
}

/** Shading constants derived once per image. */
interface Material {
  skin: number[];
  palm: number[];
  nail: number[];
  lx: number; ly: number; lz: number;
  hx: number; hy: number; hz: number;
  p: HandParams;
}

function material(p: HandParams): Material {
  const skin = p.skin.map(toLinear);
  // Palms and palmar finger sides are lighter and pinker, most visibly on dark skin.
  const lift = 0.12 + 0.38 * p.skinTone;
  const palm = [
    toLinear(p.skin[0] + (240 - p.skin[0]) * lift),
    toLinear(p.skin[1] + (190 - p.skin[1]) * lift),
    toLinear(p.skin[2] + (170 - p.skin[2]) * lift),
  ];
  const [lx, ly, lz] = p.light;
  const hl = Math.hypot(lx, ly, lz + 1);
  return { skin, palm, nail: p.nail.map(toLinear), lx, ly, lz, hx: lx / hl, hy: ly / hl, hz: (lz + 1) / hl, p };
}

/** Shades one surface point of part `q` into out[0..2] (linear RGB). */
function shade(q: HandPart, h: Hit, ao: number, mat: Material, out: Float64Array): void {
  const { p } = mat;
  const nd = h.nx * q.dx + h.ny * q.dy + h.nz * q.dz;
  const palmMix = smoothstep(0.05, 0.75, -nd);
  let r = mat.skin[0] + (mat.palm[0] - mat.skin[0]) * palmMix;
  let g = mat.skin[1] + (mat.palm[1] - mat.skin[1]) * palmMix;
  let b = mat.skin[2] + (mat.palm[2] - mat.skin[2]) * palmMix;
  let nailMix = 0;
  if (q.nail) {
    const bax = q.bx - q.ax, bay = q.by - q.ay, baz = q.bz - q.az;
    const len = Math.sqrt(bax * bax + bay * bay + baz * baz);
    const along = ((h.hx - q.ax) * bax + (h.hy - q.ay) * bay + (h.hz - q.az) * baz) / len;
    nailMix = smoothstep(0.28 * len, 0.42 * len, along) * (1 - smoothstep(len + 0.45 * q.r, len + 0.7 * q.r, along)) * smoothstep(0.35, 0.6, nd);
    r += (mat.nail[0] - r) * nailMix;
    g += (mat.nail[1] - g) * nailMix;
    b += (mat.nail[2] - b) * nailMix;
  }
  const ndl = h.nx * mat.lx + h.ny * mat.ly + h.nz * mat.lz;
  const diff = Math.max(0, (ndl + 0.3) / 1.3);
  const ndh = Math.max(0, h.nx * mat.hx + h.ny * mat.hy + h.nz * mat.hz);
  const spec = Math.pow(ndh, p.shininess * (1 + nailMix)) * p.specular * (1 + nailMix * (p.polish ? 3 : 1.2)) * ao;
  const light = (p.ambient * ao + p.diffuse * diff * (0.5 + 0.5 * ao));
  // A little red light scattered into the shadowed side, as skin does.
  const sss = 0.1 * (1 - diff) * ao;
  out[0] = (r * (light + sss) * p.lightTint[0]) + spec;
  out[1] = (g * (light + sss * 0.35) * p.lightTint[1]) + spec;
  out[2] = (b * (light + sss * 0.2) * p.lightTint[2]) + spec;
}

/** Separable box blur, `passes` times (three passes approximate a Gaussian), clamped at the borders. */
function boxBlur(src: Float32Array, size: number, radius: number, passes: number, buf: Scratch): Float32Array {
  let a = src;
  let b = buf.blurA;
  let spare = buf.blurB;
  const rr = Math.max(1, Math.round(radius));
  const norm = 1 / (2 * rr + 1);
  for (let pass = 0; pass < passes; pass++) {
    for (let dir = 0; dir < 2; dir++) {
      const step = dir === 0 ? 1 : size;
      const line = dir === 0 ? size : 1;
      for (let l = 0; l < size; l++) {
        const base = l * line;
        let acc = 0;
        for (let k = -rr; k <= rr; k++) acc += a[base + Math.min(size - 1, Math.max(0, k)) * step];
        for (let i = 0; i < size; i++) {
          b[base + i * step] = acc * norm;
          const out = Math.max(0, i - rr);
          const inn = Math.min(size - 1, i + rr + 1);
          acc += a[base + inn * step] - a[base + out * step];
        }
      }
      const t = a === src ? spare : a;
      a = b;
      b = t;
    }
  }
  return a;
}

/** Per-size work buffers, reused across images: rendering thousands of images should not churn the GC. */
interface Scratch { size: number; colour: Float32Array; alpha: Float32Array; shifted: Float32Array; blurA: Float32Array; blurB: Float32Array }
let scratchCache: Scratch | undefined;

function scratch(n: number): Scratch {
  if (!scratchCache || scratchCache.size !== n) {
    scratchCache = { size: n, colour: new Float32Array(n * 3), alpha: new Float32Array(n), shifted: new Float32Array(n),
      blurA: new Float32Array(n), blurB: new Float32Array(n) };
  }
  return scratchCache;
}

const LINEAR_LUT = (() => {
  const lut = new Float32Array(4096);
  for (let i = 0; i < 4096; i++) lut[i] = Math.pow(i / 4095, 2.2);
  return lut;
})();

const GAMMA_LUT = (() => {
  const lut = new Uint8Array(4096);
  for (let i = 0; i < 4096; i++) lut[i] = Math.round(255 * Math.pow(i / 4095, 1 / 2.2));
  return lut;
})();

const toByte = (v: number): number => GAMMA_LUT[v <= 0 ? 0 : v >= 1 ? 4095 : (v * 4095 + 0.5) | 0];

/** Renders the parts of one hand with the lighting and background of `p` into RGB bytes (size*size*3). */
export function rasterizeHand(parts: HandPart[], p: HandParams, size: number): Uint8Array {
  const n = size * size;
  const k = size / 300;
  const aoR = 9 * k * p.scale;
  const nt = Math.ceil(size / TILE);
  const tiles: Int32Array[] = [];
  for (let ty = 0; ty < nt; ty++) {
    for (let tx = 0; tx < nt; tx++) {
      const x0 = tx * TILE, y0 = ty * TILE;
      const list: number[] = [];
      parts.forEach((q, i) => {
        if (q.x1 + aoR >= x0 && q.x0 - aoR <= x0 + TILE && q.y1 + aoR >= y0 && q.y0 - aoR <= y0 + TILE) list.push(i);
      });
      tiles.push(Int32Array.from(list));
    }
  }
  const mat = material(p);
  const { colour, alpha, shifted } = scratch(n);
  colour.fill(0);
  alpha.fill(0);
  const hits = parts.map(newHit);
  const c1 = new Float64Array(3);
  const c2 = new Float64Array(3);
  for (let ty = 0; ty < nt; ty++) {
    for (let tx = 0; tx < nt; tx++) {
      const list = tiles[ty * nt + tx];
      const count = list.length;
      if (!count) continue;
      for (let y = ty * TILE; y < Math.min(size, (ty + 1) * TILE); y++) {
        for (let x = tx * TILE; x < Math.min(size, (tx + 1) * TILE); x++) {
          const px = x + 0.5, py = y + 0.5;
          // Front and second surface by depth; each part's hit stays valid for this pixel.
          let i1 = -1, i2 = -1, z1 = -Infinity, z2 = -Infinity;
          for (let j = 0; j < count; j++) {
            const i = list[j];
            const q = parts[i];
            const h = hits[i];
            if (px < q.x0 - aoR || px > q.x1 + aoR || py < q.y0 - aoR || py > q.y1 + aoR) {
              h.cov = 0;
              h.edge = 1e9;
              continue;
            }
            if (q.kind === 0) evalCapsule(q, px, py, h);
            else evalEllipsoid(q, px, py, h);
            if (h.cov === 0) continue;
            if (h.z > z1) {
              i2 = i1; z2 = z1;
              i1 = i; z1 = h.z;
            } else if (h.z > z2) {
              i2 = i; z2 = h.z;
            }
          }
          if (i1 < 0) continue;
          // Contact darkening: parts of other groups lying above this surface and close to it in the image.
          const g1 = parts[i1].group;
          let ao = 1;
          for (let j = 0; j < count; j++) {
            const i = list[j];
            const h = hits[i];
            if (h.edge >= aoR || h.zTop <= z1 || parts[i].group === g1) continue;
            const e = h.edge > 0 ? h.edge / aoR : 0;
            ao *= 1 - 0.55 * (1 - e) * (1 - e);
          }
          const front = hits[i1];
          shade(parts[i1], front, ao, mat, c1);
          const a1 = front.cov;
          let r = c1[0] * a1, g = c1[1] * a1, b = c1[2] * a1, a = a1;
          if (a1 < 1 && i2 >= 0) {
            const back = hits[i2];
            shade(parts[i2], back, 1, mat, c2);
            // Adjacent outlines (two fingers touching) share the pixel rather than stack: no background seam.
            const a2 = Math.min(back.cov, 1 - a1);
            r += c2[0] * a2; g += c2[1] * a2; b += c2[2] * a2; a += a2;
          }
          const o = y * size + x;
          colour[o * 3] = r; colour[o * 3 + 1] = g; colour[o * 3 + 2] = b;
          alpha[o] = a;
        }
      }
    }
  }
  // Drop shadow: the hand's coverage, shifted away from the light and blurred.
  const ox = Math.round(p.shadowOffset[0] * k * p.scale), oy = Math.round(p.shadowOffset[1] * k * p.scale);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(size - 1, Math.max(0, y - oy));
    for (let x = 0; x < size; x++) {
      const sx = Math.min(size - 1, Math.max(0, x - ox));
      shifted[y * size + x] = alpha[sy * size + sx];
    }
  }
  const shadow = boxBlur(shifted, size, p.shadowBlur * k * 0.6, 3, scratch(n));
  const out = new Uint8Array(n * 3);
  const folds = p.folds.map((f) => ({ c: Math.cos(f.angle), s: Math.sin(f.angle), off: f.offset * k, inv: 1 / (f.width * k), amp: f.amp }));
  for (let y = 0; y < size; y++) {
    const v = (y + 0.5) / size - 0.5;
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size - 0.5;
      let bg = p.background * (1 + 2 * p.gradient[0] * u + 2 * p.gradient[1] * v - 0.05 * (u * u + v * v));
      for (const f of folds) {
        // A soft crease: light on one side, darker on the other (derivative of a Gaussian).
        const s = ((u * size) * f.c + (v * size) * f.s - f.off) * f.inv;
        bg *= 1 - 1.7 * f.amp * s * Math.exp(-s * s);
      }
      const o = y * size + x;
      const bl = LINEAR_LUT[bg <= 0 ? 0 : bg >= 1 ? 4095 : (bg * 4095 + 0.5) | 0] * (1 - p.shadowStrength * shadow[o]);
      const ia = 1 - alpha[o];
      out[o * 3] = toByte(colour[o * 3] + bl * ia);
      out[o * 3 + 1] = toByte(colour[o * 3 + 1] + bl * ia);
      out[o * 3 + 2] = toByte(colour[o * 3 + 2] + bl * ia);
    }
  }
  return out;
}
