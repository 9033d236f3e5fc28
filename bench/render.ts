/**
 * Renderer benchmark: time to render the default CGI data set (2520 train + 372 test, 300 px, TFDS layout,
 * PNG files) with the default worker count, into a temporary folder that is removed afterwards.
 * --quick renders 60 + 12 images instead and reports the same metrics.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchResult } from './types';
import { renderDataset } from '../lib/data/render/index';
import { renderHand } from '../lib/data/render/hand';

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const counts = opts.quick ? { train: 60, test: 12 } : { train: 2520, test: 372 };
  const workers = os.availableParallelism();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-bench-render-'));
  const results: BenchResult[] = [];
  try {
    const cpu0 = process.cpuUsage();
    const res = await renderDataset({ outDir: dir, ...counts, workers });
    // Process-wide CPU time (worker threads included): comparable across machines that are busy with other work.
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const n = counts.train + counts.test;
    const label = `${counts.train}+${counts.test} @300px, ${workers} workers`;
    results.push(
      { benchmark: 'render', case: label, metric: 'time', value: res.seconds, unit: 's', note: 'render + PNG write, worker start-up included' },
      { benchmark: 'render', case: label, metric: 'throughput', value: n / res.seconds, unit: 'img/s' },
      { benchmark: 'render', case: label, metric: 'cpu time', value: cpuSeconds, unit: 's', note: `${((cpuSeconds / n) * 1000).toFixed(1)} ms CPU per image, all threads` },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // One thread, pixels only (no PNG, no workers): the renderer's own cost per image.
  const k = opts.quick ? 12 : 60;
  const t = process.hrtime.bigint();
  for (let i = 0; i < k; i++) renderHand({ pose: (['rock', 'paper', 'scissors'] as const)[i % 3], seed: 10_000 + i });
  const ms = Number(process.hrtime.bigint() - t) / 1e6 / k;
  results.push({ benchmark: 'render', case: 'renderHand 300px, 1 thread', metric: 'time per image', value: ms, unit: 'ms' });
  return results;
}
