/**
 * Renders a whole CGI rock-paper-scissors data set in the TFDS layout:
 *   outDir/rps/{rock,paper,scissors}/*.png            (train, 2520 by default)
 *   outDir/rps-test-set/{rock,paper,scissors}/*.png   (test, 372 by default)
 * Each image is a pure function of its (pose, per-image seed, hand domain), so the files are identical whatever
 * the number of worker threads. Test hands come from parameter ranges held out of training (params.ts HELD_OUT)
 * unless splitDesign is 'iid'.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { siblingWorkerModule, withWorkerPool } from '../../engine/pool';
import { derivedSeed } from '../../util/random';
import { RENDER_DEFAULTS } from './defaults';
import { RenderJob, runRenderJob } from './job';
import { HAND_POSES, HandPose, SPLIT_DESIGNS, SplitDesign, splitDomain } from './params';

/** Options of renderDataset. */
export interface RenderOptions {
  /** Folder that receives `rps/` and `rps-test-set/` (created if missing). */
  outDir: string;
  /** Number of training images (default 2520, as TFDS), split as evenly as possible over the classes. */
  train?: number;
  /** Number of test images (default 372, as TFDS). */
  test?: number;
  /** Data set seed (default 0): per-image seeds derive from (seed, split, class, index). */
  seed?: number;
  /** Image width and height in pixels (default 300). */
  size?: number;
  /** Test hands from held-out parameter ranges ('shifted', default) or from the training distribution ('iid'). */
  splitDesign?: SplitDesign;
  /** Store the images at this size, box-filter downscaled from `size` (default: `size` x `size`). */
  stored?: { width: number; height: number };
  /** Worker threads (default os.availableParallelism(); 1 renders in this thread). */
  workers?: number;
  /** Called after each image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** What renderDataset wrote. */
export interface RenderSummary {
  outDir: string;
  counts: { train: Record<string, number>; test: Record<string, number> };
  seconds: number;
  seed: number;
  splitDesign: SplitDesign;
}

/** TFDS folder names of the two splits. */
const SPLIT_DIRS = { train: 'rps', test: 'rps-test-set' } as const;
type Split = keyof typeof SPLIT_DIRS;

/** Images per class: as even as possible, the remainder going to the first classes in TFDS order. */
function classCounts(total: number): Record<HandPose, number> {
  const base = Math.floor(total / HAND_POSES.length);
  const rest = total % HAND_POSES.length;
  const out = {} as Record<HandPose, number>;
  HAND_POSES.forEach((pose, i) => (out[pose] = base + (i < rest ? 1 : 0)));
  return out;
}

/** File name in the style of the TFDS archive (`rock01-000.png`, test: `testrock01-000.png`), 120 per group. */
function fileName(split: Split, pose: HandPose, j: number): string {
  const group = String(Math.floor(j / 120) + 1).padStart(2, '0');
  const index = String(j % 120).padStart(3, '0');
  return `${split === 'test' ? 'test' : ''}${pose}${group}-${index}.png`;
}

/** Lists every image to render, with per-image seeds unique across both splits and each split's hand domain. */
export function planRenderJobs(
  outDir: string,
  train: number,
  test: number,
  seed: number,
  size: number,
  splitDesign: SplitDesign = RENDER_DEFAULTS.splitDesign,
  stored?: { width: number; height: number },
): RenderJob[] {
  const jobs: RenderJob[] = [];
  const used = new Set<number>();
  for (const split of ['train', 'test'] as const) {
    const counts = classCounts(split === 'train' ? train : test);
    for (const pose of HAND_POSES) {
      for (let j = 0; j < counts[pose]; j++) {
        let s = derivedSeed(seed, `${split}/${pose}/${j}`);
        // 32-bit seeds can collide; re-derive so no two images (train or test) share one.
        while (used.has(s)) s = derivedSeed(s, 'again');
        used.add(s);
        const file = path.join(outDir, SPLIT_DIRS[split], pose, fileName(split, pose, j));
        jobs.push({ pose, seed: s, size, domain: splitDomain(splitDesign, split), ...stored, file });
      }
    }
  }
  return jobs;
}

function checkCount(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`renderDataset: ${name} must be an integer in [${min}, ${max}], got ${v}`);
}

/**
 * Renders `jobs` on `n` worker threads, ended when done: a rendered set is cached, and workers kept in a notebook
 * kernel would render with the code they loaded even after the renderer changed (and the cache key with it).
 */
function renderWithWorkers(jobs: RenderJob[], n: number, onProgress?: (done: number, total: number) => void): Promise<void> {
  return withWorkerPool({ script: siblingWorkerModule(__dirname, __filename, 'worker'), size: n }, async (pool) => {
    const render = (job: RenderJob, worker: number): Promise<void> => pool.call(worker, 'render', job);
    await pool.runJobs(jobs, render, { onProgress, describe: (job) => `renderDataset: rendering ${job.file} failed in a worker` });
  });
}

/**
 * Renders the CGI data set into `outDir` (TFDS layout, RGB PNG). Not cached and not atomic by itself:
 * callers render into a temporary folder and rename it.
 */
export async function renderDataset(options: RenderOptions): Promise<RenderSummary> {
  const { outDir, onProgress } = options;
  const train = options.train ?? RENDER_DEFAULTS.train;
  const test = options.test ?? RENDER_DEFAULTS.test;
  const seed = options.seed ?? RENDER_DEFAULTS.seed;
  const size = options.size ?? RENDER_DEFAULTS.size;
  const splitDesign = options.splitDesign ?? RENDER_DEFAULTS.splitDesign;
  const { stored } = options;
  const workers = options.workers ?? os.availableParallelism();
  if (typeof outDir !== 'string' || !outDir) throw new Error('renderDataset: outDir must be a non-empty folder path');
  checkCount('train', train, 0, 1_000_000);
  checkCount('test', test, 0, 1_000_000);
  checkCount('size', size, 8, 4096);
  checkCount('workers', workers, 1, 256);
  if (!Number.isInteger(seed)) throw new Error(`renderDataset: seed must be an integer, got ${seed}`);
  if (!SPLIT_DESIGNS.includes(splitDesign)) throw new Error(`renderDataset: splitDesign must be one of ${SPLIT_DESIGNS.join(', ')}, got ${String(splitDesign)}`);
  if (stored) {
    checkCount('stored.width', stored.width, 1, size);
    checkCount('stored.height', stored.height, 1, size);
  }
  const t0 = process.hrtime.bigint();
  const jobs = planRenderJobs(outDir, train, test, seed, size, splitDesign, stored);
  for (const split of ['train', 'test'] as const) {
    for (const pose of HAND_POSES) fs.mkdirSync(path.join(outDir, SPLIT_DIRS[split], pose), { recursive: true });
  }
  const n = Math.min(workers, jobs.length);
  if (n > 1) {
    await renderWithWorkers(jobs, n, onProgress);
  } else {
    for (let i = 0; i < jobs.length; i++) {
      runRenderJob(jobs[i]);
      onProgress?.(i + 1, jobs.length);
      // Yield now and then so progress bars and notebook output can update.
      if ((i + 1) % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { outDir, counts: { train: classCounts(train), test: classCounts(test) }, seconds, seed, splitDesign };
}
