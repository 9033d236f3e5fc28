/**
 * The project's one pool of worker threads (decoding, rendering, feature extraction, training steps). Each worker
 * loads one module (a .ts file works too: the worker registers ts-node itself, so the pool also works where the
 * parent compiled its TypeScript some other way, e.g. a tslab kernel). Calls are addressed to one worker; the
 * worker side is `serveWorkerCalls` (./pool_worker.ts); `runJobs` spreads a list of jobs over the workers.
 *
 * A pool is either lent for one piece of work (`withWorkerPool`) or kept by key for the next call
 * (`sharedWorkerPool`, ended by `shutdownWorkerPools()`). Idle workers are unref'd, so a kept pool never holds the
 * process open.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * The worker module `name` in `dir` (pass the caller's `__dirname` and `__filename`): the caller's own extension
 * when that file exists, else the .ts source (a tslab kernel names its in-memory compile of a module .js while
 * only the .ts exists on disk), else .js.
 */
export function siblingWorkerModule(dir: string, callerFile: string, name: string): string {
  const candidates = [path.extname(callerFile), '.ts', '.js'].map((ext) => path.join(dir, `${name}${ext}`));
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`worker module '${name}' not found (looked for ${candidates.join(', ')})`);
  return found;
}

export interface WorkerPoolOptions {
  /** Absolute path of the worker module (.ts or .js). It must call `serveWorkerCalls`. */
  script: string;
  /** Number of workers, >= 1. */
  size: number;
  /** Passed to every worker as `workerData.data`. Default undefined. */
  data?: unknown;
}

export interface CallOptions {
  /** Buffers moved (not copied) to the worker. */
  transfer?: ArrayBuffer[];
  /** Receives the values the handler passes to `emit` while the call runs. */
  onEvent?: (event: unknown) => void;
}

/** Message from a worker (see pool_worker.ts). */
export type WorkerReply =
  | { id: number; type: 'result'; value: unknown }
  | { id: number; type: 'error'; message: string; stack?: string }
  | { id: number; type: 'event'; value: unknown };

/** Options of `WorkerPool.runJobs`. */
export interface RunJobsOptions<J> {
  /** Use workers 0..workers-1 only. Default: all of the pool. */
  workers?: number;
  /** Calls kept in flight per worker. Default 1; 2 keeps a worker busy while this thread handles a result. */
  inFlight?: number;
  /** Called after each job with (done, total). An exception it throws fails the run like a failed job. */
  onProgress?: (done: number, total: number) => void;
  /** Names a job in the error of its failure (e.g. 'rendering /x/rock01-000.png'). */
  describe?: (job: J, index: number) => string;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (event: unknown) => void;
}

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

// Runs in the worker: registers ts-node for .ts modules unless they are already compiled, then loads the module.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const b = workerData.bootstrap;
if (/\\.ts$/.test(b.script)) {
  require(b.tsNode).register({ transpileOnly: true, project: b.tsconfig });
}
require(b.script);
`;

export class WorkerPool {
  readonly size: number;
  readonly script: string;
  private workers: Worker[] = [];
  private pending: Map<number, Pending>[] = [];
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  constructor(options: WorkerPoolOptions) {
    const { script, size } = options;
    if (!Number.isInteger(size) || size < 1) throw new Error(`WorkerPool: size must be a positive integer, got ${size}`);
    if (!path.isAbsolute(script)) throw new Error(`WorkerPool: script must be an absolute path, got '${script}'`);
    this.size = size;
    this.script = script;
    const bootstrap = {
      script,
      tsNode: require.resolve('ts-node', { paths: [PROJECT_ROOT, __dirname] }),
      tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
    };
    for (let i = 0; i < size; i++) {
      // execArgv [] so flags of the parent (--test, --require of its own loaders) do not leak into the worker.
      const w = new Worker(BOOTSTRAP, { eval: true, execArgv: [], workerData: { bootstrap, data: options.data, index: i } });
      const pending = new Map<number, Pending>();
      w.on('message', (msg: WorkerReply) => this.onMessage(pending, msg));
      w.on('error', (err) => this.fail(i, new Error(`worker ${i} of ${path.basename(script)} failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(i, new Error(`worker ${i} of ${path.basename(script)} exited with code ${code}`));
      });
      w.unref();
      this.workers.push(w);
      this.pending.push(pending);
    }
  }

  /** Whether the pool can still take calls (no worker failed, not terminated). */
  get usable(): boolean {
    return !this.failure && !this.closed;
  }

  /** Calls `method` on worker `index`; resolves with the handler's return value. */
  call<T>(index: number, method: string, payload: unknown, options: CallOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('WorkerPool.call: the pool was terminated'));
    if (this.failure) return Promise.reject(this.failure);
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      return Promise.reject(new Error(`WorkerPool.call: worker index ${index} out of range 0..${this.size - 1}`));
    }
    const id = this.nextId++;
    const pending = this.pending[index];
    const worker = this.workers[index];
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent: options.onEvent });
      // Busy workers keep the process alive until their result arrives.
      if (pending.size === 1) worker.ref();
      worker.postMessage({ id, method, payload }, options.transfer ?? []);
    });
  }

  /**
   * Runs `run(job, worker, index)` for every job, handing the next job to a worker as soon as it frees up, and
   * resolves with the results placed by job index. The first failure stops the feeding; the run rejects with it
   * (named by `describe`) once the calls already sent have settled, so nothing a job writes changes after the
   * caller saw the failure. A failed job leaves the pool usable; a dead worker makes it unusable (`usable`).
   */
  async runJobs<J, R>(jobs: readonly J[], run: (job: J, worker: number, index: number) => Promise<R>, options: RunJobsOptions<J> = {}): Promise<R[]> {
    const workers = options.workers ?? this.size;
    const inFlight = options.inFlight ?? 1;
    if (!Number.isInteger(workers) || workers < 1 || workers > this.size) {
      throw new Error(`WorkerPool.runJobs: workers must be an integer in [1, ${this.size}], got ${workers}`);
    }
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new Error(`WorkerPool.runJobs: inFlight must be a positive integer, got ${inFlight}`);
    const results: R[] = new Array(jobs.length);
    let next = 0;
    let done = 0;
    let failure: Error | undefined;
    const lane = async (worker: number): Promise<void> => {
      while (!failure && next < jobs.length) {
        const index = next++;
        try {
          results[index] = await run(jobs[index], worker, index);
          options.onProgress?.(++done, jobs.length);
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          failure ??= options.describe ? new Error(`${options.describe(jobs[index], index)}: ${e.message}`, { cause: e }) : e;
        }
      }
    };
    await Promise.all(Array.from({ length: workers * inFlight }, (_, k) => lane(k % workers)));
    if (failure) throw failure;
    return results;
  }

  /** Ends every worker; pending calls reject. */
  async terminate(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('WorkerPool: terminated'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(pending: Map<number, Pending>, msg: WorkerReply): void {
    const p = pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'event') {
      p.onEvent?.(msg.value);
      return;
    }
    pending.delete(msg.id);
    if (pending.size === 0) this.workers[this.pending.indexOf(pending)]?.unref();
    if (msg.type === 'result') p.resolve(msg.value);
    else {
      const err = new Error(msg.message);
      if (msg.stack) err.stack = msg.stack;
      p.reject(err);
    }
  }

  /** Worker `index` died: its own calls are rejected first, so a job runner names the job it was running. */
  private fail(index: number, err: Error): void {
    if (!this.failure) this.failure = err;
    this.rejectAll(err, index);
    // One dead worker makes the pool unusable: end the others too.
    if (!this.closed) void this.terminate();
  }

  private rejectAll(err: Error, first = 0): void {
    const order = this.pending.map((_, i) => (first + i) % this.pending.length);
    for (const i of order) {
      for (const p of this.pending[i].values()) p.reject(err);
      this.pending[i].clear();
      this.workers[i]?.unref();
    }
  }
}

/**
 * Starts a pool, lends it to `use` and ends it when `use` settles: for work whose results are cached, so that a
 * kept pool would mostly sit idle holding memory (and code that may since have changed under a notebook kernel).
 */
export async function withWorkerPool<T>(options: WorkerPoolOptions, use: (pool: WorkerPool) => Promise<T>): Promise<T> {
  const pool = new WorkerPool(options);
  try {
    return await use(pool);
  } finally {
    await pool.terminate();
  }
}

const shared = new Map<string, WorkerPool>();

/**
 * The pool kept under `key`, created by `create` when there is none (or the kept one failed or is too small for
 * `minSize`). Kept for the life of the process, so a re-run notebook cell pays the start-up once.
 */
export async function sharedWorkerPool(key: string, minSize: number, create: () => WorkerPool): Promise<WorkerPool> {
  const kept = shared.get(key);
  if (kept && kept.usable && kept.size >= minSize) return kept;
  if (kept) await kept.terminate();
  const pool = create();
  shared.set(key, pool);
  return pool;
}

/** Ends every pool kept by `sharedWorkerPool` (their next use starts new workers). */
export async function shutdownWorkerPools(): Promise<void> {
  const pools = [...shared.values()];
  shared.clear();
  await Promise.all(pools.map((p) => p.terminate()));
}
