/**
 * Seeded random numbers. tfjs has no global seed, so every random choice in the pipeline (shuffling,
 * augmentation, rendering, initializer seeds) draws from one of these.
 */

/** The seed used when none is given. */
export const DEFAULT_SEED = 0;

/** A deterministic pseudo-random generator (mulberry32), independent of Math.random. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Shuffles a copy of `items` (Fisher-Yates). */
  shuffled<T>(items: readonly T[]): T[];
  /** A 31-bit integer, e.g. a seed for a tfjs initializer. */
  seed(): number;
}

/** Mixes a string label into a seed, so independent streams (`derivedSeed(seed, 'augment')`) do not correlate. */
export function derivedSeed(seed: number, label: string | number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  const s = String(label);
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Creates a generator from an integer seed. */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seed: expected a finite number, got ${seed}`);
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    normal: () => {
      const u = 1 - next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    chance: (p) => next() < p,
    pick: (items) => {
      if (!items.length) throw new Error('pick: empty array');
      return items[Math.floor(next() * items.length)];
    },
    shuffled: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    seed: () => Math.floor(next() * 0x7fffffff),
  };
  return rng;
}
