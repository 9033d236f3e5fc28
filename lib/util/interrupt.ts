/**
 * What long-running builds and downloads leave behind when the process is stopped. Each registers while it runs:
 * an unfinished temporary file or folder to remove, or a resumable download to keep. `installInterruptHandler()`
 * (for command-line programs) turns Ctrl-C / SIGTERM into: remove what is unfinished, print one line saying what
 * was kept, exit. Notebooks do not install it (the kernel owns SIGINT); what a killed process leaves is swept by
 * the next atomic write into the same folder (`sweepStaleTemps` in atomic.ts) or resumed by the next download.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Interruptible {
  /** The file or folder concerned. */
  path: string;
  /** `remove`: unfinished, deleted on interrupt; `keep`: resumable, left in place. */
  action: 'remove' | 'keep';
  /** For `keep`: what the user should know, e.g. `12.3 MB; the download resumes on the next run`. */
  note?: () => string;
}

const active = new Set<Interruptible>();

/** Registers `task` while it runs; call the returned function when it is done (finished or failed). */
export function registerInterruptible(task: Interruptible): () => void {
  active.add(task);
  return () => {
    active.delete(task);
  };
}

/**
 * Removes every registered `remove` path and returns the one line that says what was removed and kept. An entry
 * inside another registered one (a download's `.part` inside a kept folder) is reported with its parent only.
 */
export function cleanUpInterrupted(): string {
  const tasks = [...active];
  active.clear();
  const top = tasks.filter((t) => !tasks.some((o) => o !== t && t.path.startsWith(o.path + path.sep)));
  const removed: string[] = [];
  const kept: string[] = [];
  for (const t of tasks) {
    if (t.action !== 'remove') continue;
    fs.rmSync(t.path, { recursive: true, force: true });
    if (top.includes(t)) removed.push(t.path);
  }
  for (const t of top) if (t.action === 'keep' && fs.existsSync(t.path)) kept.push(t.note ? `${t.path} (${t.note()})` : t.path);
  const parts = [removed.length ? `removed the unfinished ${removed.join(', ')}` : '', kept.length ? `kept ${kept.join(', ')}` : ''].filter(Boolean);
  return `interrupted: ${parts.length ? parts.join('; ') : 'nothing unfinished was left behind'}`;
}

let installed = false;

/**
 * For command-line programs (call once, at start): on SIGINT or SIGTERM, clean up what is registered, print one
 * line to stderr, and exit with 130 / 143 as a shell expects.
 */
export function installInterruptHandler(): void {
  if (installed) return;
  installed = true;
  const exitWith = (code: number) => (): void => {
    process.stderr.write(`${cleanUpInterrupted()}\n`);
    process.exit(code);
  };
  process.once('SIGINT', exitWith(130));
  process.once('SIGTERM', exitWith(143));
}
