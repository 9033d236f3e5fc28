/**
 * The feature store: activations of a frozen prefix, kept in memory and (optionally) on disk, keyed by
 * everything that produced them. Frozen layers with BatchNormalization in inference mode are a fixed
 * function, so their outputs can be computed once and reused by every epoch, every phase and every
 * re-executed notebook cell.
 *
 * Disk layout: `<cacheDir>/features/<key>.f32` (float32, little-endian, samples back to back) and
 * `<key>.json` (header: version, shape, the SHA-256 of the binary, the key's parts). The binary is written first and
 * the header last, both atomically, so a header on disk means a complete entry; the checksum is verified on every
 * read, and an entry that fails it (a damaged disk, a file overwritten) is computed again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { cacheKey, sha256 } from '../util/hash';

/** Bumped whenever the meaning or layout of a stored entry changes; old entries are then ignored. */
export const FEATURE_CACHE_VERSION = 2;

/** Activations of `shape[0]` samples; `shape.slice(1)` is one sample's shape. */
export interface FeatureArray {
  key: string;
  data: Float32Array;
  shape: number[];
}

export interface FeatureStoreOptions {
  /** Root of the disk cache (entries go under `<cacheDir>/features/`). Default: none, memory only. */
  cacheDir?: string;
}

interface Header {
  version: number;
  key: string;
  shape: number[];
  dtype: 'float32';
  /** Hex SHA-256 of the `.f32` file. */
  sha256: string;
  parts: unknown;
  created: string;
}

/** Where the entries came from, for reports and the re-run benchmark. */
export interface FeatureStoreStats {
  memoryHits: number;
  diskHits: number;
  computed: number;
  /** Bytes held in memory now. */
  bytes: number;
}

/**
 * Owns cached activations. Each entry sits in a named slot (e.g. `head:train:view1`); putting a new key in
 * a slot releases the old entry, so changing the image size or the cut layer does not pile up memory.
 */
export class FeatureStore {
  readonly cacheDir?: string;
  private readonly slots = new Map<string, FeatureArray>();
  private readonly stats = { memoryHits: 0, diskHits: 0, computed: 0 };
  private disposed = false;

  constructor(options: FeatureStoreOptions = {}) {
    this.cacheDir = options.cacheDir;
  }

  /** The key of an entry made from `parts` (any JSON-like description, versioned here). */
  static keyOf(parts: unknown): string {
    return cacheKey('features', FEATURE_CACHE_VERSION, parts);
  }

  /**
   * The entry for `parts` in `slot`: from memory, else from disk, else `compute()` (then stored in both).
   * The returned arrays belong to the store; callers must not modify them.
   */
  async get(slot: string, parts: unknown, compute: () => Promise<{ data: Float32Array; shape: number[] }>): Promise<FeatureArray> {
    if (this.disposed) throw new Error('FeatureStore: used after dispose()');
    const key = FeatureStore.keyOf(parts);
    const held = this.slots.get(slot);
    if (held && held.key === key) {
      this.stats.memoryHits++;
      return held;
    }
    let entry = this.readDisk(key);
    if (entry) {
      this.stats.diskHits++;
    } else {
      const out = await compute();
      const expected = out.shape.reduce((a, b) => a * b, 1);
      if (out.data.length !== expected) {
        throw new Error(`FeatureStore: computed ${out.data.length} values for shape [${out.shape}] (${expected} expected)`);
      }
      entry = { key, data: out.data, shape: out.shape };
      this.stats.computed++;
      this.writeDisk(entry, parts);
    }
    this.slots.set(slot, entry);
    return entry;
  }

  /** Whether `parts` is available without computing (memory or disk). */
  has(parts: unknown): boolean {
    const key = FeatureStore.keyOf(parts);
    for (const e of this.slots.values()) if (e.key === key) return true;
    return Boolean(this.cacheDir && fs.existsSync(this.headerPath(key)));
  }

  getStats(): FeatureStoreStats {
    let bytes = 0;
    for (const e of this.slots.values()) bytes += e.data.byteLength;
    return { ...this.stats, bytes };
  }

  /** Releases one slot's memory (disk entries stay). */
  release(slot: string): void {
    this.slots.delete(slot);
  }

  /** Releases everything held in memory; the store cannot be used afterwards. Disk entries stay. */
  dispose(): void {
    this.slots.clear();
    this.disposed = true;
  }

  private headerPath(key: string): string {
    return path.join(this.cacheDir as string, 'features', `${key}.json`);
  }

  private readDisk(key: string): FeatureArray | undefined {
    if (!this.cacheDir) return undefined;
    const hp = this.headerPath(key);
    if (!fs.existsSync(hp)) return undefined;
    try {
      const header = JSON.parse(fs.readFileSync(hp, 'utf8')) as Header;
      if (header.version !== FEATURE_CACHE_VERSION || header.key !== key || header.dtype !== 'float32') return undefined;
      const file = hp.replace(/\.json$/, '.f32');
      const buf = fs.readFileSync(file);
      const count = header.shape.reduce((a, b) => a * b, 1);
      if (buf.byteLength !== count * 4) return undefined;
      if (sha256(buf) !== header.sha256) {
        console.warn(`feature cache ${file} does not match its checksum (damaged); computing it again`);
        return undefined;
      }
      // Copy into an aligned buffer of its own (a Buffer may share a larger, unaligned pool).
      const data = new Float32Array(count);
      new Uint8Array(data.buffer).set(buf);
      return { key, data, shape: header.shape };
    } catch {
      return undefined;
    }
  }

  private writeDisk(entry: FeatureArray, parts: unknown): void {
    if (!this.cacheDir) return;
    const hp = this.headerPath(entry.key);
    const bytes = new Uint8Array(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    writeFileAtomic(hp.replace(/\.json$/, '.f32'), bytes);
    const header: Header = {
      version: FEATURE_CACHE_VERSION,
      key: entry.key,
      shape: entry.shape,
      dtype: 'float32',
      sha256: sha256(bytes),
      parts,
      created: new Date().toISOString(),
    };
    writeJsonAtomic(hp, header);
  }
}
