/**
 * Atomic file and directory writes: write under a temporary name in the same directory, then rename,
 * so that a crash never leaves something that looks complete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temporary sibling name for `target` (same directory, so rename is atomic). */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes `data` to `file` atomically, creating parent directories. */
export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempSibling(file);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes JSON (pretty-printed) atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Builds a directory atomically: `build` fills a temporary directory, which then replaces `dir`.
 * If `build` throws, the temporary directory is removed and `dir` is left as it was.
 */
export async function buildDirAtomic(dir: string, build: (tmpDir: string) => void | Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = tempSibling(dir);
  fs.mkdirSync(tmp);
  try {
    await build(tmp);
    const old = fs.existsSync(dir) ? tempSibling(dir) : undefined;
    if (old) fs.renameSync(dir, old);
    fs.renameSync(tmp, dir);
    if (old) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
