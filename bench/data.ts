/**
 * Data loading benchmark: the rendered default set (2520 + 372 images, 300 px) decoded and resized to 160 and
 * 224 px, cold (empty pixel cache), from the disk cache, and from the in-memory memo. --quick: a 90 + 30 render.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchResult } from './types';
import { loadDataset } from '../lib/data/load';
import { clearPixelMemo, loadPixels, pixelCacheStats } from '../lib/data/pixels';

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const render = opts.quick ? { train: 90, test: 30 } : {};
  const t0 = Date.now();
  const splits = await loadDataset({ data: 'rendered', render, quiet: true });
  const prepare = (Date.now() - t0) / 1000;
  const n = splits.train.items.length + splits.test.items.length;
  const label = `rendered ${n}`;
  const results: BenchResult[] = [
    { benchmark: 'data', case: `${label}: list (render when not cached)`, metric: 'time', value: prepare, unit: 's' },
  ];
  const pixelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-bench-pixels-'));
  try {
    for (const size of [160, 224]) {
      const load = async (): Promise<number> => {
        const t = process.hrtime.bigint();
        await loadPixels(splits.train, { size, cacheDir: pixelDir, quiet: true });
        await loadPixels(splits.test, { size, cacheDir: pixelDir, quiet: true });
        return Number(process.hrtime.bigint() - t) / 1e9;
      };
      clearPixelMemo();
      const decoded = pixelCacheStats.decoded;
      const cold = await load();
      if (pixelCacheStats.decoded - decoded !== n) throw new Error(`bench: expected ${n} decodes on a cold load, got ${pixelCacheStats.decoded - decoded}`);
      clearPixelMemo();
      const disk = await load();
      const memo = await load();
      const c = `${label} @${size}px`;
      results.push(
        { benchmark: 'data', case: `${c} cold (decode + resize)`, metric: 'time', value: cold, unit: 's' },
        { benchmark: 'data', case: `${c} cold (decode + resize)`, metric: 'throughput', value: n / cold, unit: 'img/s' },
        { benchmark: 'data', case: `${c} disk cache`, metric: 'time', value: disk, unit: 's' },
        { benchmark: 'data', case: `${c} disk cache`, metric: 'ratio', value: (disk / cold) * 100, unit: '% of cold' },
        { benchmark: 'data', case: `${c} in-memory memo`, metric: 'time', value: memo, unit: 's', note: 'a re-run notebook cell' },
      );
    }
  } finally {
    fs.rmSync(pixelDir, { recursive: true, force: true });
    clearPixelMemo();
  }
  return results;
}
