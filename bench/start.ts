/**
 * `npm start` as a newcomer runs it: every notebook, from an empty cache, in a child process (the reports and
 * the cache go to a temporary folder). Measures its wall time and the peak resident memory of its whole process
 * tree (the runner and its notebook kernels, summed, sampled every half second). Quick mode: `npm start --
 * --small`. The default run is the issue #11 budget: <= 7 min and <= 3 GB on 2 cores.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import pidtree from 'pidtree';
import pidusage from 'pidusage';
import type { BenchResult } from './types';

const NAME = 'start';
const ROOT = path.join(__dirname, '..');
const SAMPLE_MS = 500;

/** Resident bytes of `pid` and all its descendants now (0 once it has exited). */
async function treeRss(pid: number): Promise<number> {
  try {
    const pids = await pidtree(pid, { root: true });
    const stats = await pidusage(pids);
    return Object.values(stats).reduce((sum, s) => sum + (s?.memory ?? 0), 0);
  } catch {
    return 0; // the tree changed while it was read (a kernel exited): the next sample reads it again
  }
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-bench-start-'));
  const args = [path.join(ROOT, 'node_modules/ts-node/dist/bin.js'), '--transpile-only', path.join(ROOT, 'scripts/start.ts'), '--out', path.join(tmp, 'reports')];
  if (opts.quick) args.push('--small');
  // Parameters come from the notebooks as written: the caller's RPS_* settings are not the default run.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RPS_')));
  const started = Date.now();
  let peak = 0;
  let log = '';
  try {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...env, RPS_CACHE_DIR: path.join(tmp, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => resolve(code));
    });
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      peak = Math.max(peak, await treeRss(child.pid as number));
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const code = await exited;
    if (code !== 0) throw new Error(`npm start${opts.quick ? ' -- --small' : ''} failed (exit ${code}):\n${log.slice(-4000)}`);
  } finally {
    pidusage.clear();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  const what = opts.quick ? 'npm start -- --small' : 'npm start';
  // The runner's "[<notebook>] done in <s> s" lines: where the time went.
  const perNotebook = [...log.matchAll(/^\[([^\]]+)\] done in ([\d.]+) s/gm)].map(
    ([, name, s]): BenchResult => ({ benchmark: NAME, case: `${what}: notebook ${name}`, metric: 'time', value: Number(s), unit: 's' }),
  );
  return [
    { benchmark: NAME, case: `${what}, empty cache, all notebooks`, metric: 'time', value: seconds, unit: 's', note: opts.quick ? undefined : 'target <= 420 s' },
    ...perNotebook,
    { benchmark: NAME, case: `${what}, peak RSS of the process tree`, metric: 'memory', value: peak / 2 ** 20, unit: 'MiB', note: opts.quick ? undefined : 'target <= 3072 MiB' },
  ];
}
