/**
 * `mixRendered`: rendered hands added to a user's own training split, at the user's resolution, so that a small
 * real data set gets the renderer's variety (rendered hands alone, resolution-matched, carry over to real test
 * hands better than a model trained on few real ones).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageSize } from 'image-size';
import { HAND_POSES, type HandPose } from './render/params';
import { ensureMixImages } from './rendered';
import type { Dataset, DatasetItem, MixSummary } from './types';

export interface MixOptions {
  /** Rendered images per class. */
  perClass: number;
  cacheDir: string;
  /** Renderer seed. */
  seed: number;
  quiet: boolean;
}

/** Enough of a file to find its dimensions in (PNG: the IHDR; JPEG: the frame header after EXIF, usually). */
const HEADER_BYTES = 256 * 1024;

/** Width and height from the file's header, or undefined when it has none that can be read. */
function dimensions(file: string): { width: number; height: number } | undefined {
  const read = (bytes: Buffer): { width: number; height: number } | undefined => {
    const d = imageSize(bytes);
    return d.width && d.height ? { width: d.width, height: d.height } : undefined;
  };
  try {
    const fd = fs.openSync(file, 'r');
    let head: Buffer;
    try {
      head = Buffer.alloc(Math.min(HEADER_BYTES, fs.fstatSync(fd).size));
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    try {
      return read(head);
    } catch {
      // A JPEG whose frame header lies beyond the first bytes (a large EXIF block): read it all.
      return read(fs.readFileSync(file));
    }
  } catch {
    return undefined;
  }
}

/** The median of integers (the lower middle for an even count, so the result is one of the values). */
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Median width and height of `items`' images (files whose header cannot be read are left out). */
export function medianImageSize(items: readonly DatasetItem[]): { width: number; height: number } {
  const dims = items.map((it) => dimensions(it.file)).filter((d): d is { width: number; height: number } => d !== undefined);
  if (!dims.length) throw new Error(`mixRendered: none of the ${items.length} training images has a readable PNG/JPEG header`);
  return { width: median(dims.map((d) => d.width)), height: median(dims.map((d) => d.height)) };
}

/** Checks `n` as a mixRendered count (a non-negative integer). */
/** No rendered hands are added unless asked for. */
export const DEFAULT_MIX_RENDERED = 0;

export function checkMixCount(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 100_000) {
    throw new Error(`mixRendered: expected a whole number of rendered images per class in [0, 100000], got ${String(n)}`);
  }
  return n;
}

/**
 * `train` plus `perClass` rendered hands per class (items marked `origin: 'rendered'`, after each class's own
 * images), stored at the median size of `train`'s images. Only for classes the renderer can draw.
 */
export async function mixRenderedInto(train: Dataset, options: MixOptions): Promise<{ dataset: Dataset; mix: MixSummary }> {
  const perClass = checkMixCount(options.perClass);
  const undrawable = train.classes.filter((c) => !HAND_POSES.includes(c as HandPose));
  if (undrawable.length) {
    throw new Error(
      `mixRendered: the renderer can draw only the classes ${HAND_POSES.join(', ')}; this data set's class folder(s) ` +
        `${undrawable.join(', ')} (in ${train.root}) are not among them`,
    );
  }
  const { width, height } = medianImageSize(train.items);
  const { folder: root, ...stored } = await ensureMixImages(options.cacheDir, { perClass, width, height, seed: options.seed }, options.quiet);
  const items: DatasetItem[] = [];
  let rendered = 0;
  train.classes.forEach((cls, label) => {
    items.push(...train.items.filter((it) => it.label === label));
    const dir = path.join(root, cls);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
    if (files.length !== perClass) throw new Error(`mixRendered: expected ${perClass} rendered images in ${dir}, found ${files.length}`);
    items.push(...files.map((f) => ({ file: path.join(dir, f), label, origin: 'rendered' as const })));
    rendered += files.length;
  });
  return { dataset: { ...train, items }, mix: { own: train.items.length, rendered, perClass, ...stored, folder: root } };
}
