/**
 * A small pool of worker threads that each load one module (a .ts file works too: the worker registers ts-node
 * itself, so the pool also works where the parent compiled its TypeScript some other way, e.g. a tslab kernel).
 * Calls are addressed to one worker; the worker side is `serveWorkerCalls` (./pool_worker.ts).
 *
 * Idle workers are unref'd, so a pool kept for the next call never holds the process open; pools kept by key
 * (`sharedWorkerPool`) end with `shutdownWorkerPools()`.
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
      w.on('error', (err) => this.fail(new Error(`worker ${i} of ${path.basename(script)} failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`worker ${i} of ${path.basename(script)} exited with code ${code}`));
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

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.rejectAll(err);
    // One dead worker makes the pool unusable: end the others too.
    if (!this.closed) void this.terminate();
  }

  private rejectAll(err: Error): void {
    this.pending.forEach((pending, i) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      this.workers[i]?.unref();
    });
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
