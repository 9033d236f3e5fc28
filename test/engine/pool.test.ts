/**
 * The worker pool (lib/engine/pool.ts) and its job runner: results placed by job index whatever order they finish
 * in, progress, the first failure rejects with its message and stops the feeding, the pool stays usable after a
 * failed job (and is replaced after a dead worker), and neither a kept nor a lent pool keeps the process alive.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sharedWorkerPool, shutdownWorkerPools, withWorkerPool, WorkerPool, type RunJobsOptions } from '../../lib/engine/pool';

const SCRIPT = path.join(__dirname, 'pool_test_worker.ts');

interface Job {
  value: number;
  delay?: number;
  fail?: string;
  exit?: number;
}
interface Reply {
  value: number;
  worker: number;
}

after(() => shutdownWorkerPools());

const testPool = (size = 2) => sharedWorkerPool(`test:${size}`, size, () => new WorkerPool({ script: SCRIPT, size }));

/** Runs `jobs` on `pool`, recording which jobs were started. */
function run(pool: WorkerPool, jobs: Job[], options: RunJobsOptions<Job> = {}) {
  const started: number[] = [];
  const result = pool.runJobs(jobs, (job, worker, index) => {
    started.push(index);
    return pool.call<Reply>(worker, 'job', job);
  }, options);
  return { started, result };
}

test('runJobs: results by job index whatever order they finish in, progress after each, every worker used', async () => {
  const pool = await testPool();
  // Early jobs are the slow ones, so results arrive out of order.
  const jobs: Job[] = Array.from({ length: 9 }, (_, i) => ({ value: i, delay: (9 - i) * 15 }));
  const progress: [number, number][] = [];
  const { result } = run(pool, jobs, { onProgress: (done, total) => progress.push([done, total]) });
  const out = await result;
  assert.deepEqual(out.map((r) => r.value), jobs.map((j) => j.value * 2));
  assert.deepEqual(progress, jobs.map((_, i) => [i + 1, 9]));
  assert.deepEqual(new Set(out.map((r) => r.worker)), new Set([0, 1]));
  assert.deepEqual(await pool.runJobs([], () => Promise.reject(new Error('never called'))), []);
});

test('runJobs: workers and inFlight bound what is sent at once', async () => {
  const pool = await testPool();
  let busy = 0;
  let most = 0;
  const jobs: Job[] = Array.from({ length: 8 }, (_, i) => ({ value: i, delay: 10 }));
  const track = async (job: Job, worker: number): Promise<Reply> => {
    most = Math.max(most, ++busy);
    try {
      return await pool.call<Reply>(worker, 'job', job);
    } finally {
      busy--;
    }
  };
  const one = await pool.runJobs(jobs, track, { workers: 1, inFlight: 2 });
  assert.ok(one.every((r) => r.worker === 0));
  assert.equal(most, 2);
  most = 0;
  await pool.runJobs(jobs, track);
  assert.equal(most, 2);
  await assert.rejects(pool.runJobs(jobs, track, { workers: 3 }), /workers must be an integer in \[1, 2\], got 3/);
  await assert.rejects(pool.runJobs(jobs, track, { inFlight: 0 }), /inFlight must be a positive integer/);
});

test('runJobs: a failing job rejects with its message, named; feeding stops; the pool stays usable', async () => {
  const pool = await testPool(1);
  const jobs: Job[] = Array.from({ length: 10 }, (_, i) => ({ value: i, fail: i === 2 ? 'no such hand' : undefined }));
  const progress: number[] = [];
  const { started, result } = run(pool, jobs, { onProgress: (d) => progress.push(d), describe: (job) => `job ${job.value}` });
  await assert.rejects(result, (err: Error) => {
    assert.equal(err.message, 'job 2: no such hand');
    assert.equal((err.cause as Error).message, 'no such hand');
    return true;
  });
  assert.deepEqual(started, [0, 1, 2]);
  assert.deepEqual(progress, [1, 2]);
  assert.ok(pool.usable);
  assert.deepEqual((await run(pool, [{ value: 4 }]).result).map((r) => r.value), [8]);
  // Without `describe` the job's own error comes through.
  await assert.rejects(run(pool, [{ value: 1, fail: 'plain' }]).result, /^Error: plain$/);
});

test('runJobs: on failure it waits for the calls already sent before rejecting', async () => {
  const pool = await testPool();
  const settled: number[] = [];
  const jobs: Job[] = [{ value: 0, fail: 'early' }, { value: 1, delay: 150 }];
  await assert.rejects(
    pool.runJobs(jobs, async (job, worker, index) => {
      const r = await pool.call<Reply>(worker, 'job', job).finally(() => settled.push(index));
      return r;
    }),
    /early/,
  );
  assert.deepEqual(settled.sort(), [0, 1]);
});

test('runJobs: an exception from onProgress fails the run', async () => {
  const pool = await testPool();
  const boom = () => {
    throw new Error('progress bar broke');
  };
  await assert.rejects(run(pool, [{ value: 1 }, { value: 2 }], { onProgress: boom }).result, /progress bar broke/);
  assert.ok(pool.usable);
});

test('runJobs: a dead worker rejects naming the job; the kept pool is replaced on next use', async () => {
  const pool = await testPool();
  const jobs: Job[] = [{ value: 0, delay: 30 }, { value: 1, exit: 3 }, { value: 2 }, { value: 3 }];
  await assert.rejects(run(pool, jobs, { describe: (job) => `job ${job.value}` }).result, /^Error: job 1: worker 1 of pool_test_worker\.ts exited with code 3$/);
  assert.equal(pool.usable, false);
  const again = await testPool();
  assert.notEqual(again, pool);
  assert.deepEqual((await run(again, [{ value: 5 }]).result).map((r) => r.value), [10]);
});

test('withWorkerPool ends the pool when the work settles, also after a failure', async () => {
  let lent: WorkerPool | undefined;
  const doubled = await withWorkerPool({ script: SCRIPT, size: 2 }, async (pool) => {
    lent = pool;
    return (await run(pool, [{ value: 1 }, { value: 2 }, { value: 3 }]).result).map((r) => r.value);
  });
  assert.deepEqual(doubled, [2, 4, 6]);
  assert.equal(lent!.usable, false);
  await assert.rejects(
    withWorkerPool({ script: SCRIPT, size: 1 }, async (pool) => {
      lent = pool;
      await run(pool, [{ value: 1, fail: 'bad' }]).result;
    }),
    /bad/,
  );
  assert.equal(lent!.usable, false);
});

test('idle workers, kept or lent, never keep the process alive', () => {
  // A child that runs jobs on a kept pool (never shut down) and leaves a lent pool mid-call must still exit.
  const child = `
    const { sharedWorkerPool, withWorkerPool, WorkerPool } = require(${JSON.stringify(path.join(__dirname, '../../lib/engine/pool'))});
    const script = ${JSON.stringify(SCRIPT)};
    (async () => {
      const kept = await sharedWorkerPool('kept', 2, () => new WorkerPool({ script, size: 2 }));
      const out = await kept.runJobs([1, 2, 3], (value, w) => kept.call(w, 'job', { value }));
      await withWorkerPool({ script, size: 1 }, (pool) => pool.call(0, 'job', { value: 1 }));
      console.log('done', out.map((r) => r.value).join(','));
    })();
  `;
  const res = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', '-e', child], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.error, undefined, `child did not exit: ${res.error?.message}`);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /done 2,4,6/);
});
