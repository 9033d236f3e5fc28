/**
 * Decoded, resized pixels of a Dataset (uint8 RGB), cached on disk keyed by the content of the source files and the
 * size, and memoised in memory so that re-running a notebook cell is instant. Tensors are made from them on demand.
 * The key holds each file's SHA-256 (computed once, then remembered by path, size and mtime), its name relative to
 * the data set's root and its label: a moved or copied project finds its cache, and a changed file never does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { FileMemo } from '../util/file_memo';
import { cacheKey, sha256 } from '../util/hash';
import { decodeImage } from './decode';
import { decodeInWorkers } from './decode-pool';
import { defaultDataCacheDir } from './cache-dir';
import type { Dataset, SkippedFile } from './types';

/** Bumped whenever decoding or resizing changes, so old caches are not reused. */
const PIXEL_CACHE_VERSION = 'pixels-v2';

/** Images of one split as uint8 RGB, `count` images of `size x size`. Treat as read-only (it may be shared). */
export interface PixelSet {
  size: number;
  count: number;
  /** `count*size*size*3` bytes, image-major, rows, then RGB. */
  pixels: Uint8Array;
  labels: Int32Array;
  classes: string[];
  files: string[];
  /** Content key: the source files (contents, names relative to the root, labels), the size and the cache version; or derived from one. */
  key: string;
  /** Files that could not be decoded (not in `files`). */
  skipped?: SkippedFile[];
}

export interface LoadPixelsOptions {
  /** Side of the square images (the model's input size). */
  size: number;
  /** Cache folder; pixels go to `<cacheDir>/pixels/`. Default: the data cache (env RPS_CACHE_DIR or `<project>/data`). */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** No progress line. Default: false. */
  quiet?: boolean;
  /** Decoding threads for a cold load of 64+ images. Default: os.availableParallelism(); 1 decodes in this thread. */
  workers?: number;
}

const memo = new Map<string, PixelSet>();

/** Statistics for tests and benchmarks: how many images were decoded and how many loads hit each cache. */
export const pixelCacheStats = { decoded: 0, diskHits: 0, memoryHits: 0 };

/** Forgets the in-memory memo (the disk cache stays), e.g. to measure a cached load. */
export function clearPixelMemo(): void {
  memo.clear();
}

/**
 * The content key of a Dataset at a size: every file's SHA-256, name relative to `ds.root` and label. The hashes are
 * remembered by path, size and mtime in `<cacheDir>/file-memo/` (default: the data cache), so a warm key costs a
 * `stat` per file.
 */
export function pixelSetKey(ds: Dataset, size: number, cacheDir = defaultDataCacheDir()): string {
  const digests = FileMemo.open<string>(path.join(cacheDir, 'file-memo', 'sha256-v1.json'));
  const files = ds.items.map((it) => [path.relative(ds.root, it.file), it.label, digests.get(it.file, (f) => sha256(fs.readFileSync(f)))]);
  digests.save();
  return cacheKey(PIXEL_CACHE_VERSION, size, ds.classes, files);
}

interface CacheMeta {
  version: string;
  key: string;
  size: number;
  count: number;
  classes: string[];
  /** Relative to the data set's root (the key holds them so), so that a moved data set reads its cache. */
  files: string[];
  labels: number[];
  skipped: SkippedFile[];
}

/**
 * Decodes and resizes every image of `ds` to `size`, or reads them from the cache. The result is memoised (same
 * object for the same key). Undecodable images are skipped with a warning and listed in `skipped`.
 */
export async function loadPixels(ds: Dataset, options: LoadPixelsOptions): Promise<PixelSet> {
  const { size } = options;
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw new Error(`loadPixels: size must be an integer in [8, 1024], got ${size}`);
  const cacheDir = options.cacheDir ?? defaultDataCacheDir();
  const key = pixelSetKey(ds, size, cacheDir);
  const hit = memo.get(key);
  if (hit) {
    pixelCacheStats.memoryHits++;
    return hit;
  }
  const dir = path.join(cacheDir, 'pixels');
  const base = path.join(dir, `${slug(ds.name)}-${ds.split}-${size}-${key}`);
  const renamed = fs.existsSync(`${base}.json`) ? undefined : renamedEntry(dir, key);
  const cached = readCache(renamed ?? base, key, ds.root);
  if (cached) {
    pixelCacheStats.diskHits++;
    memo.set(key, cached);
    return cached;
  }
  const set = await decodeAll(ds, size, key, options);
  writeFileAtomic(`${base}.bin`, set.pixels);
  const meta: CacheMeta = {
    version: PIXEL_CACHE_VERSION,
    key,
    size,
    count: set.count,
    classes: set.classes,
    files: set.files.map((f) => path.relative(ds.root, f)),
    labels: Array.from(set.labels),
    skipped: (set.skipped ?? []).map((k) => ({ ...k, file: path.relative(ds.root, k.file) })),
  };
  // The metadata is written last: a cache entry counts only when its .json exists and matches the .bin.
  writeJsonAtomic(`${base}.json`, meta);
  memo.set(key, set);
  return set;
}

/** Below this many images, starting worker threads costs more than it saves. */
const PARALLEL_MIN_IMAGES = 64;

async function decodeAll(ds: Dataset, size: number, key: string, options: LoadPixelsOptions): Promise<PixelSet> {
  const per = size * size * 3;
  const total = ds.items.length;
  const pixels = new Uint8Array(total * per);
  const errors: (string | undefined)[] = new Array(total).fill(undefined);
  let done = 0;
  let lastPrint = Date.now();
  const started = Date.now();
  const progress = (): void => {
    done++;
    options.onProgress?.(done, total);
    if (!options.quiet && (Date.now() - lastPrint > 5000 || done === total) && Date.now() - started > 2000) {
      lastPrint = Date.now();
      console.log(`decoding ${ds.split} at ${size} px: ${done}/${total}`);
    }
  };
  const store = (i: number, img: Uint8Array | undefined, error: string | undefined): void => {
    if (img) {
      pixels.set(img, i * per);
      pixelCacheStats.decoded++;
    } else errors[i] = error ?? 'unknown decode error';
    progress();
  };
  const workers = options.workers ?? os.availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`loadPixels: workers must be a positive integer, got ${workers}`);
  if (workers > 1 && total >= PARALLEL_MIN_IMAGES) {
    await decodeInWorkers(ds.items.map((it) => it.file), size, workers, store);
  } else {
    for (let i = 0; i < total; i++) {
      try {
        store(i, await decodeImage(ds.items[i].file, size), undefined);
      } catch (err) {
        store(i, undefined, (err as Error).message);
      }
    }
  }
  const skipped: SkippedFile[] = [];
  const keep: number[] = [];
  errors.forEach((e, i) => {
    if (e === undefined) keep.push(i);
    else {
      skipped.push({ file: ds.items[i].file, reason: e });
      if (!options.quiet) console.warn(`skipped ${ds.items[i].file}: ${e}`);
    }
  });
  let out = pixels;
  if (skipped.length) {
    out = new Uint8Array(keep.length * per);
    keep.forEach((i, n) => out.set(pixels.subarray(i * per, (i + 1) * per), n * per));
  }
  return {
    size,
    count: keep.length,
    pixels: out,
    labels: Int32Array.from(keep.map((i) => ds.items[i].label)),
    classes: [...ds.classes],
    files: keep.map((i) => ds.items[i].file),
    key,
    skipped,
  };
}

/** An entry with this key written under another data set name (a renamed folder), if any. */
function renamedEntry(dir: string, key: string): string | undefined {
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith(`-${key}.json`)) : undefined;
  return found && path.join(dir, found.slice(0, -'.json'.length));
}

function readCache(base: string, key: string, root: string): PixelSet | undefined {
  let meta: CacheMeta;
  let bytes: Buffer;
  try {
    meta = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as CacheMeta;
    if (meta.version !== PIXEL_CACHE_VERSION || meta.key !== key) return undefined;
    bytes = fs.readFileSync(`${base}.bin`);
  } catch {
    return undefined;
  }
  if (bytes.length !== meta.count * meta.size * meta.size * 3) return undefined;
  return {
    size: meta.size,
    count: meta.count,
    pixels: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
    labels: Int32Array.from(meta.labels),
    classes: meta.classes,
    files: meta.files.map((f) => path.resolve(root, f)),
    key,
    skipped: meta.skipped.map((k) => ({ ...k, file: path.resolve(root, k.file) })),
  };
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
}

export interface PixelsToTensorOptions {
  /** Output value range, e.g. [-1, 1] or [0, 1] as the base model declares; 0 maps to lo, 255 to hi. */
  range: [number, number];
  /** Which images, in this order. Default: all. */
  indices?: number[];
}

/** A float32 `[n, size, size, 3]` tensor of the chosen images, scaled to `range`. The caller owns (disposes) it. */
export function pixelsToTensor(set: PixelSet, options: PixelsToTensorOptions): tf.Tensor4D {
  const [lo, hi] = options.range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo >= hi) {
    throw new Error(`pixelsToTensor: range must be [lo, hi] with lo < hi, got [${options.range.join(', ')}]`);
  }
  const per = set.size * set.size * 3;
  const indices = options.indices ?? Array.from({ length: set.count }, (_, i) => i);
  const out = new Float32Array(indices.length * per);
  const scale = (hi - lo) / 255;
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    if (!Number.isInteger(i) || i < 0 || i >= set.count) throw new Error(`pixelsToTensor: index ${i} out of range [0, ${set.count})`);
    const src = i * per;
    const dst = n * per;
    for (let k = 0; k < per; k++) out[dst + k] = lo + set.pixels[src + k] * scale;
  }
  return tf.tensor4d(out, [indices.length, set.size, set.size, 3], 'float32');
}
