/**
 * The random choices behind one rendered hand: pose angles, view, skin, lighting and background.
 * Everything the renderer varies per image is drawn here from one seeded generator, so an image is a
 * pure function of (pose, seed) and the geometry/raster code stays free of randomness.
 */
import { Rng } from '../../util/random';

/** The three classes of the rock-paper-scissors data set. */
export type HandPose = 'rock' | 'paper' | 'scissors';

/** All hand poses, in TFDS label order (rock=0, paper=1, scissors=2). */
export const HAND_POSES: readonly HandPose[] = ['rock', 'paper', 'scissors'];

/** Joint angles of one finger, radians. Flexion curls toward the palm; spread tilts toward the thumb. */
export interface FingerAngles {
  spread: number;
  mcp: number;
  pip: number;
  dip: number;
}

/** Thumb angles, radians: metacarpal direction (abduction in the palm plane, palmar tilt), axial roll and flexion. */
export interface ThumbAngles {
  abduct: number;
  palmar: number;
  roll: number;
  mcp: number;
  ip: number;
}

/** Per-image parameters of a rendered hand (units: pixels of a 300 px image, angles in radians). */
export interface HandParams {
  pose: HandPose;
  left: boolean;
  /** index, middle, ring, pinky */
  fingers: FingerAngles[];
  thumb: ThumbAngles;
  /** Overall hand size factor. */
  scale: number;
  /** Palm width / length multipliers and finger length / thickness multipliers (hand shape). */
  palmWidth: number;
  palmLength: number;
  fingerLength: number;
  fingerThickness: number;
  /** Rotation about the hand's long axis: 0 shows the back of the hand, pi the palm. */
  yaw: number;
  /** Tilt of the fingers toward (+) or away from the camera. */
  pitch: number;
  /** Direction the fingers point in the image (radians, image y down). */
  direction: number;
  /** Palm centre offset from the image centre, in 300 px units. */
  offsetX: number;
  offsetY: number;
  /** Skin colour (sRGB 0..255) and how dark it is (0 very light .. 1 very dark). */
  skin: [number, number, number];
  skinTone: number;
  /** Nail colour (sRGB) and whether it is polish (more saturated, glossier). */
  nail: [number, number, number];
  polish: boolean;
  /** Unit vector toward the light, image coordinates (x right, y down, z toward the camera). */
  light: [number, number, number];
  ambient: number;
  diffuse: number;
  specular: number;
  shininess: number;
  /** Light colour multiplier (slight warm/cool tint). */
  lightTint: [number, number, number];
  /** Background brightness (0..1), gradient and folds. */
  background: number;
  gradient: [number, number];
  folds: { angle: number; offset: number; width: number; amp: number }[];
  /** Drop shadow offset (300 px units), blur radius and strength. */
  shadowOffset: [number, number];
  shadowBlur: number;
  shadowStrength: number;
}

const deg = Math.PI / 180;

/**
 * Which hands an image is drawn from. `all` is the renderer's full variety; `train` and `test` are the two
 * disjoint parts of it that the shifted split design gives the training and the test split (see HELD_OUT).
 */
export const HAND_DOMAINS = ['all', 'train', 'test'] as const;
export type HandDomain = (typeof HAND_DOMAINS)[number];

/**
 * How the rendered test split relates to the training split: `shifted` (default) draws test hands from
 * parameter ranges the training split never shows, as TFDS's test set shows other hands than its training
 * set; `iid` draws both splits from the same full variety (in-distribution, the renderer's original design).
 */
export const SPLIT_DESIGNS = ['shifted', 'iid'] as const;
export type SplitDesign = (typeof SPLIT_DESIGNS)[number];
export const DEFAULT_SPLIT_DESIGN: SplitDesign = 'shifted';

/** The hand domain of one split under a design. */
export function splitDomain(design: SplitDesign, split: 'train' | 'test'): HandDomain {
  return design === 'iid' ? 'all' : split;
}

/** A half-open interval [lo, hi). */
export type Interval = readonly [number, number];

/** One held-out scalar parameter: its full range and the bands only test hands are drawn from. */
export interface HeldOutRange {
  /** What it is and its unit, for figures and docs. */
  label: string;
  full: Interval;
  /** Sorted, non-overlapping bands inside `full`; training hands get the rest of `full`. */
  test: readonly Interval[];
}

/**
 * The held-out design: per parameter, the bands of its range that only the test split draws from. These are
 * what tells one person's hands (or one photo session) from another's: hand size and proportions, skin tone,
 * nail polish, the light's direction and tint, and the camera's tilt. Test hands are shifted in all of them
 * at once, but by modest amounts (the TFDS test set shows other hands, not other worlds); pose, view side,
 * hand direction and position, background and shadow are shared by both splits.
 */
export const HELD_OUT = {
  scale: { label: 'hand size (factor)', full: [1.1, 1.65], test: [[1.1, 1.19], [1.56, 1.65]] },
  palmWidth: { label: 'palm width (factor)', full: [0.86, 1.14], test: [[0.86, 0.92], [1.08, 1.14]] },
  palmLength: { label: 'palm length (factor)', full: [0.86, 1.14], test: [[0.86, 0.92], [1.08, 1.14]] },
  fingerLength: { label: 'finger length (factor)', full: [0.84, 1.16], test: [[0.84, 0.91], [1.09, 1.16]] },
  fingerThickness: { label: 'finger thickness (factor)', full: [0.84, 1.16], test: [[0.84, 0.91], [1.09, 1.16]] },
  skinTone: { label: 'skin tone (0 light .. 1 dark)', full: [0, 1], test: [[0.12, 0.22], [0.45, 0.55], [0.78, 0.88]] },
  lightAzimuth: { label: 'light azimuth (°)', full: [0, 360], test: [[30, 60], [150, 180], [270, 300]] },
  lightTint: { label: 'light tint (warm +, cool -)', full: [-0.07, 0.07], test: [[-0.07, -0.04], [0.04, 0.07]] },
  pitch: { label: 'camera pitch (°)', full: [-28, 28], test: [[-28, -20], [20, 28]] },
} as const satisfies Record<string, HeldOutRange>;

export type HeldOutParam = keyof typeof HELD_OUT;

/** The bands a parameter is drawn from in `domain`: the full range, the test bands, or the rest (training). */
export function domainBands(param: HeldOutParam, domain: HandDomain): Interval[] {
  const { full, test } = HELD_OUT[param] as HeldOutRange;
  if (domain === 'all') return [full];
  if (domain === 'test') return [...test];
  const out: Interval[] = [];
  let lo = full[0];
  for (const [a, b] of test) {
    if (a > lo) out.push([lo, a]);
    lo = Math.max(lo, b);
  }
  if (lo < full[1]) out.push([lo, full[1]]);
  return out;
}

/** Uniform over the union of `bands` with one draw (so the other parameters' draws do not depend on the domain). */
function drawIn(rng: Rng, bands: readonly Interval[]): number {
  const total = bands.reduce((s, [a, b]) => s + (b - a), 0);
  let t = rng.next() * total;
  for (let i = 0; i < bands.length; i++) {
    const [a, b] = bands[i];
    // The last band also takes a t that rounding pushed to its end; the result stays below b.
    if (t < b - a || i === bands.length - 1) return a + Math.min(t, (b - a) * (1 - 1e-9));
    t -= b - a;
  }
  throw new Error('drawIn: no bands');
}

/** Draws held-out parameter `param` for a hand of `domain`. */
function held(rng: Rng, param: HeldOutParam, domain: HandDomain): number {
  return drawIn(rng, domainBands(param, domain));
}

/** Skin tones from very light to very dark (sRGB), interpolated by tone in [0, 1]. */
const SKIN_RAMP: readonly [number, number, number][] = [
  [252, 224, 206],
  [238, 193, 166],
  [212, 158, 122],
  [176, 120, 84],
  [128, 82, 54],
  [86, 56, 38],
  [54, 36, 28],
];

/** Nail polish colours (sRGB): the training split's palette and the test split's, which share none. */
export const POLISH: Readonly<Record<'train' | 'test', readonly (readonly [number, number, number])[]>> = {
  train: [
    [190, 20, 40],
    [220, 70, 120],
    [120, 30, 90],
    [40, 40, 60],
    [230, 120, 90],
    [70, 110, 190],
  ],
  test: [
    [30, 140, 130],
    [225, 170, 40],
    [170, 130, 210],
    [236, 232, 226],
  ],
};

function polishPalette(domain: HandDomain): readonly (readonly [number, number, number])[] {
  return domain === 'all' ? [...POLISH.train, ...POLISH.test] : POLISH[domain];
}

function skinColour(tone: number, rng: Rng): [number, number, number] {
  const x = tone * (SKIN_RAMP.length - 1);
  const i = Math.min(SKIN_RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = SKIN_RAMP[i];
  const b = SKIN_RAMP[i + 1];
  // Per-hand hue jitter: some skins redder, some more olive.
  const warm = rng.normal() * 0.035;
  const olive = rng.normal() * 0.03;
  const c = [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * f);
  return [
    clamp255(c[0] * (1 + warm)),
    clamp255(c[1] * (1 + olive)),
    clamp255(c[2] * (1 - warm - olive * 0.5)),
  ];
}

function clamp255(v: number): number {
  return Math.max(0, Math.min(255, v));
}

function curled(rng: Rng, loose: number): FingerAngles {
  return {
    spread: rng.normal() * 3 * deg,
    mcp: rng.uniform(70, 100) * deg - loose * 25 * deg,
    pip: rng.uniform(85, 115) * deg - loose * 30 * deg,
    dip: rng.uniform(30, 65) * deg - loose * 15 * deg,
  };
}

function extended(rng: Rng, spread: number): FingerAngles {
  return {
    spread,
    mcp: rng.uniform(-12, 22) * deg,
    pip: rng.uniform(-2, 24) * deg,
    dip: rng.uniform(-4, 16) * deg,
  };
}

function fingersFor(pose: HandPose, rng: Rng): FingerAngles[] {
  if (pose === 'rock') {
    const loose = rng.chance(0.3) ? rng.uniform(0, 0.8) : 0;
    return [0, 1, 2, 3].map(() => curled(rng, loose));
  }
  if (pose === 'paper') {
    // Fingers from nearly together to widely fanned out.
    const s = rng.chance(0.25) ? rng.uniform(0.01, 0.06) : rng.uniform(0.06, 0.26);
    return [1.0, 0.25, -0.55, -1.15].map((k) => extended(rng, k * s + rng.normal() * 0.03));
  }
  const v = rng.uniform(0.06, 0.32);
  const bias = rng.normal() * 0.06;
  const loose = rng.chance(0.25) ? rng.uniform(0.2, 0.9) : 0;
  return [
    extended(rng, v * rng.uniform(0.5, 1.1) + bias),
    extended(rng, -v * rng.uniform(0.4, 1.0) + bias),
    curled(rng, loose),
    curled(rng, loose),
  ];
}

function thumbFor(pose: HandPose, rng: Rng): ThumbAngles {
  const out = (): ThumbAngles => ({
    abduct: rng.uniform(30, 65) * deg,
    palmar: rng.uniform(5, 30) * deg,
    roll: rng.uniform(25, 60) * deg,
    mcp: rng.uniform(-5, 20) * deg,
    ip: rng.uniform(-5, 30) * deg,
  });
  const across = (): ThumbAngles => ({
    abduct: rng.uniform(5, 22) * deg,
    palmar: rng.uniform(35, 60) * deg,
    roll: rng.uniform(70, 100) * deg,
    mcp: rng.uniform(35, 60) * deg,
    ip: rng.uniform(25, 60) * deg,
  });
  const alongside = (): ThumbAngles => ({
    abduct: rng.uniform(8, 22) * deg,
    palmar: rng.uniform(15, 35) * deg,
    roll: rng.uniform(40, 70) * deg,
    mcp: rng.uniform(5, 25) * deg,
    ip: rng.uniform(5, 30) * deg,
  });
  const r = rng.next();
  if (pose === 'rock') return r < 0.65 ? across() : alongside();
  if (pose === 'paper') return r < 0.85 ? out() : alongside();
  return r < 0.5 ? across() : r < 0.75 ? alongside() : out();
}

function viewYaw(rng: Rng): number {
  // Mostly back or palm views; edge-on views (where a V of two fingers can hide behind itself) stay a minority.
  const r = rng.next();
  if (r < 0.55) return rng.uniform(-45, 45) * deg;
  if (r < 0.75) return (rng.chance(0.5) ? 1 : -1) * rng.uniform(45, 80) * deg;
  return rng.uniform(145, 215) * deg;
}

/** Draws every per-image choice for a hand in `pose` from `rng`; held-out parameters from `domain`'s ranges (default all). */
export function sampleHandParams(pose: HandPose, rng: Rng, domain: HandDomain = 'all'): HandParams {
  const left = rng.chance(0.5);
  const fingers = fingersFor(pose, rng);
  const thumb = thumbFor(pose, rng);
  // Hands enter from any edge; the forearm runs opposite to `direction`.
  const edge = rng.int(4);
  const direction = edge * (Math.PI / 2) + rng.normal() * 22 * deg;
  const skinTone = held(rng, 'skinTone', domain);
  const polish = rng.chance(0.18);
  const skin = skinColour(skinTone, rng);
  const nail: [number, number, number] = polish
    ? [...rng.pick(polishPalette(domain))]
    : [clamp255(skin[0] * 1.05 + 30), clamp255(skin[1] * 0.95 + 25), clamp255(skin[2] * 0.95 + 28)];
  const az = held(rng, 'lightAzimuth', domain) * deg;
  const el = rng.uniform(35, 72) * deg;
  const light: [number, number, number] = [Math.cos(az) * Math.cos(el), Math.sin(az) * Math.cos(el), Math.sin(el)];
  const shadowDist = rng.uniform(4, 18);
  const folds = Array.from({ length: rng.int(4) }, () => ({
    angle: rng.uniform(0, Math.PI),
    offset: rng.uniform(-140, 140),
    width: rng.uniform(15, 70),
    amp: rng.uniform(0.008, 0.035),
  }));
  const tint = held(rng, 'lightTint', domain);
  return {
    pose,
    left,
    fingers,
    thumb,
    scale: held(rng, 'scale', domain),
    palmWidth: held(rng, 'palmWidth', domain),
    palmLength: held(rng, 'palmLength', domain),
    fingerLength: held(rng, 'fingerLength', domain),
    fingerThickness: held(rng, 'fingerThickness', domain),
    yaw: viewYaw(rng),
    pitch: held(rng, 'pitch', domain) * deg,
    direction,
    offsetX: rng.normal() * 22,
    offsetY: rng.normal() * 22,
    skin,
    skinTone,
    nail,
    polish,
    light,
    ambient: rng.uniform(0.28, 0.45),
    diffuse: rng.uniform(0.6, 0.85),
    specular: rng.uniform(0.04, 0.22),
    shininess: rng.uniform(12, 40),
    lightTint: [1 + tint, 1, 1 - tint],
    background: rng.uniform(0.93, 1.0),
    gradient: [rng.normal() * 0.02, rng.normal() * 0.02],
    folds,
    shadowOffset: [-light[0] * shadowDist, -light[1] * shadowDist],
    shadowBlur: rng.uniform(5, 14),
    shadowStrength: rng.uniform(0.12, 0.32),
  };
}

/** One row of the held-out design, with both splits' bands spelled out (for figures, docs and tests). */
export interface HeldOutRow {
  param: HeldOutParam;
  label: string;
  full: Interval;
  train: Interval[];
  test: Interval[];
}

/** The held-out design as rows, in HELD_OUT's order. */
export function heldOutRanges(): HeldOutRow[] {
  return (Object.keys(HELD_OUT) as HeldOutParam[]).map((param) => ({
    param,
    label: HELD_OUT[param].label,
    full: HELD_OUT[param].full,
    train: domainBands(param, 'train'),
    test: domainBands(param, 'test'),
  }));
}
