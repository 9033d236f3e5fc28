/**
 * Atomic file and directory writes: write under a temporary name in the same directory, then rename,
 * so that a crash never leaves something that looks complete. Temporary names carry the writer's pid; those of
 * processes that are gone and older than this one are swept by the next atomic write into the same directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { registerInterruptible } from './interrupt';

/** A temporary sibling name for `target` (same directory, so rename is atomic). */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files and folders (`tempSibling` names) in `dir` that a stopped process left: their pid is
 * not running and they were last written before this process started (a pid can be reused, and another machine
 * sharing the folder has other pids). Returns what was removed.
 */
export function sweepStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid || isRunning(Number(m[1]))) continue;
    const p = path.join(dir, name);
    try {
      if (fs.statSync(p).mtimeMs >= performance.timeOrigin) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch {
      // Gone already (another process swept it).
    }
  }
  return removed;
}

/** Writes `data` to `file` atomically, creating parent directories. */
export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  sweepStaleTemps(path.dirname(file));
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

/** Replaces `dir` by the complete folder `ready` (a sibling): the old folder, if any, is renamed away first, then removed. */
export function replaceDir(ready: string, dir: string): void {
  const old = fs.existsSync(dir) ? tempSibling(dir) : undefined;
  if (old) fs.renameSync(dir, old);
  fs.renameSync(ready, dir);
  if (old) fs.rmSync(old, { recursive: true, force: true });
}

/**
 * Builds a directory atomically: `build` fills a temporary directory, which then replaces `dir`.
 * If `build` throws, or the process is interrupted (see `installInterruptHandler`), the temporary directory is
 * removed and `dir` is left as it was.
 */
export async function buildDirAtomic(dir: string, build: (tmpDir: string) => void | Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  sweepStaleTemps(path.dirname(dir));
  const tmp = tempSibling(dir);
  fs.mkdirSync(tmp);
  const done = registerInterruptible({ path: tmp, action: 'remove' });
  try {
    await build(tmp);
    replaceDir(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    done();
  }
}
