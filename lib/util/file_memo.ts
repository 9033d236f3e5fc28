/**
 * Facts computed from a file's bytes (its content hash, whether it is a sound image), remembered by path, size and
 * mtime, in memory and in a JSON index on disk, so that a later run does not read every file again.
 *
 * A fact recorded less than `RACY_MS` after the file's mtime is not trusted: a write in the same clock tick (or on a
 * file system with coarse timestamps) would leave size and mtime unchanged. Such a fact is recomputed until the
 * file is older than that (git guards its index against the same "racy" case).
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from './atomic';

/** How long after a file's mtime a recorded fact starts to be trusted, ms. */
export const RACY_MS = 2000;

interface Entry<T> {
  size: number;
  mtimeMs: number;
  /** When the value was computed (ms since the epoch). */
  at: number;
  value: T;
}

interface IndexFile<T> {
  version: 1;
  entries: Record<string, Entry<T>>;
}

/** One memo per index file in a process, so every caller shares what was computed. */
const open = new Map<string, FileMemo<unknown>>();

export class FileMemo<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private dirty = false;

  private constructor(readonly indexFile: string | undefined) {
    if (!indexFile) return;
    try {
      const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as IndexFile<T>;
      if (index.version === 1) for (const [file, e] of Object.entries(index.entries)) this.entries.set(file, e);
    } catch {
      // No index yet, or an unreadable one: start empty (every fact is recomputed).
    }
  }

  /** The memo kept in `indexFile` (shared within the process); without a file, a memo held in memory only. */
  static open<T>(indexFile?: string): FileMemo<T> {
    if (!indexFile) return new FileMemo<T>(undefined);
    let memo = open.get(indexFile);
    if (!memo) open.set(indexFile, (memo = new FileMemo<T>(indexFile)));
    return memo as FileMemo<T>;
  }

  /** The remembered value for `file`, or `compute(file)` when the file changed, is new, or is too recent to trust. */
  get(file: string, compute: (file: string) => T): T {
    const st = fs.statSync(file);
    const e = this.entries.get(file);
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs && st.mtimeMs < e.at - RACY_MS) return e.value;
    const value = compute(file);
    this.entries.set(file, { size: st.size, mtimeMs: st.mtimeMs, at: Date.now(), value });
    this.dirty = true;
    return value;
  }

  /** Writes the index (atomically) when something was computed since it was read; entries of deleted files go. */
  save(): void {
    if (!this.dirty || !this.indexFile) return;
    for (const file of this.entries.keys()) if (!fs.existsSync(file)) this.entries.delete(file);
    const index: IndexFile<T> = { version: 1, entries: Object.fromEntries(this.entries) };
    writeFileAtomic(this.indexFile, JSON.stringify(index));
    this.dirty = false;
  }
}
