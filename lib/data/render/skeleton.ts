/**
 * Hand geometry: turns HandParams into 3-D primitives (capsules for bones and fingers, an ellipsoid for
 * the palm) placed in image space (x right, y down, z toward the camera, units = output pixels).
 * Built in a hand-local frame first (x toward the thumb, y along the fingers, z out of the back of the
 * hand), then mirrored for left hands, rotated to the view and laid into the image.
 */
import { HandParams } from './params';

type Vec3 = [number, number, number];

/** One primitive of the hand. A single shape for both kinds keeps the raster loop monomorphic (fast in V8). */
export interface HandPart {
  /** 0 = capsule (segment a-b swept by radius r), 1 = ellipsoid (centre a, quadratic form m). */
  kind: 0 | 1;
  /** Parts of one group (palm+forearm, each finger, thumb) do not occlude-darken each other. */
  group: number;
  ax: number; ay: number; az: number;
  bx: number; by: number; bz: number;
  /** Radii at a and b (capsules are round cones: two spheres and the cone tangent to both). */
  r: number;
  r2: number;
  /** Ellipsoid form: (p-a)^T M (p-a) = 1, symmetric, stored as m11 m12 m13 m22 m23 m33. */
  m: Float64Array;
  /** Its projection onto the image plane (Schur complement): p11 p12 p22. */
  p: Float64Array;
  /** Unit vector out of the back of the hand for this part (nails, lighter palms). */
  dx: number; dy: number; dz: number;
  /** True for fingertips, which carry a nail on their dorsal side. */
  nail: boolean;
  /** Bounding box in pixels (inclusive, not clipped). */
  x0: number; y0: number; x1: number; y1: number;
}

const add = (a: Vec3, b: Vec3, k = 1): Vec3 => [a[0] + b[0] * k, a[1] + b[1] * k, a[2] + b[2] * k];
const scale = (a: Vec3, k: number): Vec3 => [a[0] * k, a[1] * k, a[2] * k];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: Vec3): Vec3 => scale(a, 1 / Math.hypot(a[0], a[1], a[2]));

/** Bends a joint: rotates the forward/dorsal pair about their common side axis, curling toward the palm. */
function flex(f: Vec3, d: Vec3, angle: number): [Vec3, Vec3] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [add(scale(f, c), d, -s), add(scale(d, c), f, s)];
}

/** Finger geometry in 300 px units: MCP position (fractions of palm width/length), bone lengths and radii. */
const FINGERS = [
  { x: 0.37, y: 0.97, len: [40, 24, 19], rad: [9.8, 9.0, 8.3] },
  { x: 0.12, y: 1.01, len: [44, 28, 20], rad: [10.2, 9.3, 8.5] },
  { x: -0.13, y: 0.98, len: [41, 27, 19], rad: [9.6, 8.8, 8.1] },
  { x: -0.36, y: 0.89, len: [32, 20, 17], rad: [8.6, 7.8, 7.2] },
];

interface LocalCapsule { a: Vec3; b: Vec3; r: number; r2: number; group: number; d: Vec3; nail: boolean }
interface LocalEllipsoid { c: Vec3; axes: [Vec3, Vec3, Vec3]; semi: Vec3; group: number; d: Vec3; arm?: boolean }

function localHand(p: HandParams): { caps: LocalCapsule[]; ells: LocalEllipsoid[]; anchor: Vec3 } {
  const W = 84 * p.palmWidth;
  const L = 88 * p.palmLength;
  const T = 30;
  const fl = p.fingerLength;
  const ft = p.fingerThickness;
  const up: Vec3 = [0, 0, 1];
  const caps: LocalCapsule[] = [];
  const ells: LocalEllipsoid[] = [
    { c: [0, 0.5 * L, -1], axes: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], semi: [0.5 * W, 0.56 * L, 0.5 * T], group: 0, d: up },
  ];
  // Wrist and forearm: one long flattened ellipsoid whose rounded end narrows into the wrist inside the palm.
  ells.push({ c: [0, -440, -2], axes: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], semi: [0.56 * W, 520, 0.3 * W], group: 0, d: up, arm: true });
  FINGERS.forEach((spec, i) => {
    const ang = p.fingers[i];
    const base: Vec3 = [spec.x * W, spec.y * L, 1];
    // Metacarpal: gives the knuckle bump and fills the palm's upper corners.
    caps.push({ a: [spec.x * W * 0.6, 0.32 * L, -5], b: base, r: spec.rad[0] * ft * 0.8, r2: spec.rad[0] * ft * 1.12, group: 0, d: up, nail: false });
    let f: Vec3 = [Math.sin(ang.spread), Math.cos(ang.spread), 0];
    let d: Vec3 = up;
    let pos = base;
    const bends = [ang.mcp, ang.pip, ang.dip];
    for (let k = 0; k < 3; k++) {
      [f, d] = flex(f, d, bends[k]);
      const next = add(pos, f, spec.len[k] * fl);
      const r2 = k < 2 ? spec.rad[k + 1] : spec.rad[2] * 0.86;
      caps.push({ a: pos, b: next, r: spec.rad[k] * ft, r2: r2 * ft, group: 1 + i, d, nail: k === 2 });
      pos = next;
    }
  });
  // Thumb: metacarpal from the carpus, then proximal and distal phalanges; roll turns its nail outward.
  const t = p.thumb;
  let f: Vec3 = norm([Math.sin(t.abduct) * Math.cos(t.palmar), Math.cos(t.abduct) * Math.cos(t.palmar), -Math.sin(t.palmar)]);
  const d0 = norm(add(up, f, -dot(up, f)));
  let d: Vec3 = add(scale(d0, Math.cos(t.roll)), cross(f, d0), Math.sin(t.roll));
  let pos: Vec3 = [0.24 * W, 0.16 * L, -0.3 * T];
  // The thenar muscle: a soft mass along the thumb's metacarpal, merging into the palm.
  // It lies in the palm plane (whatever the thumb does), on the palmar side, so it never pokes out of the back.
  const fp = norm([f[0], f[1], 0]);
  ells.push({ c: add([0.17 * W, 0.3 * L, -0.2 * T], fp, 6), axes: [fp, cross(up, fp), up], semi: [30, 0.21 * W, 11], group: 0, d: up });
  const tl = [40, 28, 24];
  const tr = [13, 11.4, 10.3, 8.8];
  const tb = [0, t.mcp, t.ip];
  for (let k = 0; k < 3; k++) {
    [f, d] = flex(f, d, tb[k]);
    const next = add(pos, f, tl[k] * fl);
    caps.push({ a: pos, b: next, r: tr[k] * ft, r2: tr[k + 1] * ft, group: 5, d, nail: k === 2 });
    pos = next;
  }
  return { caps, ells, anchor: [0, 0.7 * L, 0] };
}

/**
 * Shifts the whole hand so that the hand itself (not the forearm, which must leave the image) stays inside
 * the frame: the random offset may move it around, but never cut off fingertips. A hand too big for the
 * frame is centred instead.
 */
function fitInFrame(hand: HandPart[], all: HandPart[], size: number): void {
  const margin = size * 0.03;
  const shift = (lo: number, hi: number): number => {
    if (hi - lo > size - 2 * margin) return size / 2 - (lo + hi) / 2;
    if (lo < margin) return margin - lo;
    if (hi > size - margin) return size - margin - hi;
    return 0;
  };
  const sx = shift(Math.min(...hand.map((q) => q.x0)), Math.max(...hand.map((q) => q.x1)));
  const sy = shift(Math.min(...hand.map((q) => q.y0)), Math.max(...hand.map((q) => q.y1)));
  for (const q of all) {
    q.ax += sx; q.bx += sx; q.x0 += sx; q.x1 += sx;
    q.ay += sy; q.by += sy; q.y0 += sy; q.y1 += sy;
  }
}

/** Builds the hand's primitives for an image of `size` pixels. */
export function buildHandParts(p: HandParams, size: number): HandPart[] {
  const { caps, ells, anchor } = localHand(p);
  const s = (p.scale * size) / 300;
  const cy = Math.cos(p.yaw), sy = Math.sin(p.yaw);
  const cp = Math.cos(p.pitch), sp = Math.sin(p.pitch);
  const u = [Math.cos(p.direction), Math.sin(p.direction)];
  const w = [-u[1], u[0]];
  const mirror = p.left ? -1 : 1;
  // Linear part of local -> image (rotation, mirror, in-plane direction); scale applied separately.
  const rot = (v: Vec3): Vec3 => {
    const x0 = v[0] * mirror;
    const x1 = x0 * cy + v[2] * sy;
    const z1 = -x0 * sy + v[2] * cy;
    const y2 = v[1] * cp - z1 * sp;
    const z2 = v[1] * sp + z1 * cp;
    return [x1 * w[0] + y2 * u[0], x1 * w[1] + y2 * u[1], z2];
  };
  const a0 = scale(rot(anchor), s);
  const centre: Vec3 = [size / 2 + (p.offsetX * size) / 300 - a0[0], size / 2 + (p.offsetY * size) / 300 - a0[1], 0];
  const place = (v: Vec3): Vec3 => add(centre, scale(rot(v), s));
  const parts: HandPart[] = [];
  let armIndex = -1;
  for (const e of ells) {
    if (e.arm) armIndex = parts.length;
    const c = place(e.c);
    const m = new Float64Array(6);
    for (let k = 0; k < 3; k++) {
      const ax = rot(e.axes[k]);
      const inv = 1 / (e.semi[k] * s) ** 2;
      m[0] += ax[0] * ax[0] * inv; m[1] += ax[0] * ax[1] * inv; m[2] += ax[0] * ax[2] * inv;
      m[3] += ax[1] * ax[1] * inv; m[4] += ax[1] * ax[2] * inv; m[5] += ax[2] * ax[2] * inv;
    }
    const pr = new Float64Array([m[0] - (m[2] * m[2]) / m[5], m[1] - (m[2] * m[4]) / m[5], m[3] - (m[4] * m[4]) / m[5]]);
    // Extent of the projected ellipse v^T P v <= 1 along x and y: sqrt of the inverse's diagonal.
    const det = pr[0] * pr[2] - pr[1] * pr[1];
    const ex = Math.sqrt(pr[2] / det) + 1;
    const ey = Math.sqrt(pr[0] / det) + 1;
    const d = rot(e.d);
    parts.push({ kind: 1, group: e.group, ax: c[0], ay: c[1], az: c[2], bx: c[0], by: c[1], bz: c[2], r: 0, r2: 0, m, p: pr,
      dx: d[0], dy: d[1], dz: d[2], nail: false, x0: c[0] - ex, y0: c[1] - ey, x1: c[0] + ex, y1: c[1] + ey });
  }
  const none = new Float64Array(0);
  for (const cap of caps) {
    const a = place(cap.a);
    const b = place(cap.b);
    const r = cap.r * s;
    const r2 = cap.r2 * s;
    const d = rot(cap.d);
    parts.push({ kind: 0, group: cap.group, ax: a[0], ay: a[1], az: a[2], bx: b[0], by: b[1], bz: b[2], r, r2, m: none, p: none,
      dx: d[0], dy: d[1], dz: d[2], nail: cap.nail,
      x0: Math.min(a[0] - r, b[0] - r2) - 1, y0: Math.min(a[1] - r, b[1] - r2) - 1,
      x1: Math.max(a[0] + r, b[0] + r2) + 1, y1: Math.max(a[1] + r, b[1] + r2) + 1 });
  }
  fitInFrame(parts.filter((_, i) => i !== armIndex), parts, size);
  return parts;
}
