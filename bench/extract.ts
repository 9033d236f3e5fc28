/**
 * Feature-extraction benchmark: img/s of `extractFeatures` over a random-weight MobileNetV2 alpha 1.0 at 160 px
 * (the Keras tutorial's size), cut at out_relu, batch 32, on wasm: the model as it is in this thread, the folded
 * and fused form in this thread, and the folded form split across N worker threads (N = the number of cores).
 * Each case runs once untimed first (worker start, kernel set-up), then once timed. --quick: 64 images, else 256.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from './types';
import { initEngine } from '../lib/engine/engine';
import { buildMobileNetV2 } from '../lib/model/mobilenet_v2';
import { extractFeatures, shutdownExtractionWorkers, type ExtractOptions, type FeatureInput } from '../lib/train/extract';

/** Random pixels of `count` images of `size` px (seeded, so every run extracts the same set). */
export function randomPixels(count: number, size: number, seed = 1): FeatureInput {
  const px = new Uint8Array(count * size * size * 3);
  let v = seed >>> 0;
  for (let i = 0; i < px.length; i++) {
    v = (Math.imul(v, 1664525) + 1013904223) >>> 0;
    px[i] = v >>> 24;
  }
  return { pixels: px, count, size, range: [-1, 1] };
}

/**
 * One timed `extractFeatures` run after an untimed warm-up batch per worker: images per wall-clock second, and
 * images per second of CPU time of the whole process (worker threads included), which other jobs on a shared
 * machine disturb much less.
 */
export async function timeExtraction(
  model: Parameters<typeof extractFeatures>[0],
  input: FeatureInput,
  options: ExtractOptions,
): Promise<{ wall: number; cpu: number }> {
  const warm = Math.min(input.count, (options.batchSize ?? 32) * (options.workers ?? os.availableParallelism()));
  const per = input.size * input.size * 3;
  await extractFeatures(model, { ...input, count: warm, pixels: input.pixels.subarray(0, warm * per) }, options);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await extractFeatures(model, input, options);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: input.count / wall, cpu: input.count / ((c.user + c.system) / 1e6) };
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const engine = await initEngine({ engine: 'wasm', quiet: true });
  const size = 160;
  const count = opts.quick ? 64 : 256;
  const workers = os.availableParallelism();
  const model = buildMobileNetV2({ alpha: 1.0, inputSize: size, seed: 0 });
  const input = randomPixels(count, size);
  const cases: [string, ExtractOptions][] = [
    ['unfolded, 1 thread', { fold: false, workers: 1 }],
    ['folded, 1 thread', { fold: true, workers: 1 }],
    [`folded, ${workers} workers`, { fold: true, workers }],
  ];
  const results: BenchResult[] = [];
  try {
    for (const [name, o] of cases) {
      const t = await timeExtraction(model, input, { ...o, batchSize: 32 });
      const c = `MobileNetV2 1.0 ${size}px batch 32, ${name}`;
      results.push(
        { benchmark: 'extract', case: c, metric: 'throughput', value: t.wall, unit: 'img/s', note: `${engine.engine} [${engine.details}], ${count} images` },
        { benchmark: 'extract', case: c, metric: 'per CPU second', value: t.cpu, unit: 'img/s', note: 'images per second of process CPU time (all threads)' },
      );
    }
  } finally {
    model.dispose();
    await shutdownExtractionWorkers();
  }
  const wall = results.filter((r) => r.metric === 'throughput');
  for (const r of wall.slice(1)) {
    results.push({ benchmark: 'extract', case: `${r.case.split(', ').slice(1).join(', ')} vs unfolded 1 thread`, metric: 'speed-up', value: r.value / wall[0].value, unit: 'x' });
  }
  return results;
}
