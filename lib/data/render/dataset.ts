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
import { Worker } from 'node:worker_threads';
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
 * The worker file next to this module (worker.ts under ts-node or tslab, worker.js when compiled), or
 * undefined when neither exists (e.g. a bundler moved this file): then rendering stays in-process.
 */
function workerFile(): string | undefined {
  for (const ext of ['.ts', '.js']) {
    const f = path.join(__dirname, `worker${ext}`);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

/**
 * The workers start from this eval'd bootstrap, which registers ts-node itself when the worker is a .ts
 * file, so they run whether or not the calling process (a script, the test runner, a tslab kernel) did.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.tsNode) require(workerData.tsNode);
require(workerData.file);
`;

function startWorker(file: string): Worker {
  const tsNode = file.endsWith('.ts') ? require.resolve('ts-node/register/transpile-only') : undefined;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { file, tsNode } });
}

async function renderWithWorkers(jobs: RenderJob[], n: number, file: string, onDone: () => void): Promise<void> {
  const workers = Array.from({ length: n }, () => startWorker(file));
  let next = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error): void => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      };
      const feed = (w: Worker): void => {
        if (next < jobs.length) {
          const id = next++;
          w.postMessage({ id, job: jobs[id] });
        }
      };
      for (const w of workers) {
        w.on('message', (msg: { id: number; error?: string }) => {
          if (msg.error) return fail(new Error(`renderDataset: rendering ${jobs[msg.id].file} failed in a worker: ${msg.error}`));
          finished++;
          try {
            onDone();
          } catch (e) {
            return fail(e instanceof Error ? e : new Error(String(e)));
          }
          if (finished === jobs.length) resolve();
          else feed(w);
        });
        w.on('error', (e) => fail(new Error(`renderDataset: a render worker failed: ${e.message}`)));
        w.on('exit', (code) => {
          if (finished < jobs.length) fail(new Error(`renderDataset: a render worker exited early (code ${code})`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
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
  let done = 0;
  const tick = (): void => {
    done++;
    onProgress?.(done, jobs.length);
  };
  const file = workerFile();
  const n = Math.min(workers, jobs.length);
  if (n > 1 && file) {
    await renderWithWorkers(jobs, n, file, tick);
  } else {
    if (n > 1) console.warn('renderDataset: worker file not found next to the renderer; rendering in this thread');
    for (const job of jobs) {
      runRenderJob(job);
      tick();
      // Yield now and then so progress bars and notebook output can update.
      if (done % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { outDir, counts: { train: classCounts(train), test: classCounts(test) }, seconds, seed, splitDesign };
}
