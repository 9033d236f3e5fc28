/** Seeded index shuffling, splitting and batching (tfjs has no global seed; these take one explicitly). */
import { createRng } from '../util/random';

/** A seeded permutation of 0..n-1. */
export function shuffleIndices(n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`shuffleIndices: n must be a non-negative integer, got ${n}`);
  return createRng(seed).shuffled(Array.from({ length: n }, (_, i) => i));
}

export interface SplitOptions {
  /** Fraction of items that go to `b` (e.g. validation), in [0, 1]. */
  fraction: number;
  seed: number;
  /** Keep class proportions in both parts (each class split separately). Default: true. */
  stratified?: boolean;
}

/**
 * Splits indices 0..labels.length-1 into `a` (1 - fraction) and `b` (fraction), seeded. Stratified: each class
 * gives round(fraction * its count) to `b`, at least one when the class has two or more items and fraction > 0.
 * Both parts are returned sorted ascending, so the split does not depend on later shuffling.
 */
export function splitIndices(labels: Int32Array | number[], options: SplitOptions): { a: number[]; b: number[] } {
  const { fraction, seed } = options;
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`splitIndices: fraction must be in [0, 1], got ${fraction}`);
  const rng = createRng(seed);
  const groups = new Map<number, number[]>();
  if (options.stratified === false) {
    groups.set(0, Array.from({ length: labels.length }, (_, i) => i));
  } else {
    for (let i = 0; i < labels.length; i++) {
      const g = groups.get(labels[i]);
      if (g) g.push(i);
      else groups.set(labels[i], [i]);
    }
  }
  const a: number[] = [];
  const b: number[] = [];
  for (const key of [...groups.keys()].sort((x, y) => x - y)) {
    const idx = rng.shuffled(groups.get(key)!);
    let nb = Math.round(fraction * idx.length);
    if (fraction > 0 && nb === 0 && idx.length >= 2) nb = 1;
    if (fraction < 1 && nb === idx.length && idx.length >= 2) nb = idx.length - 1;
    b.push(...idx.slice(0, nb));
    a.push(...idx.slice(nb));
  }
  return { a: a.sort((x, y) => x - y), b: b.sort((x, y) => x - y) };
}

/** Cuts `indices` into consecutive batches of `batchSize` (the last may be smaller). */
export function batchIndices(indices: number[], batchSize: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  const out: number[][] = [];
  for (let i = 0; i < indices.length; i += batchSize) out.push(indices.slice(i, i + batchSize));
  return out;
}
