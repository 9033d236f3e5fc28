/** Worker module for test/engine/pool.test.ts: answers after a delay, fails, or dies on request. */
import { serveWorkerCalls, workerContext } from '../../lib/engine/pool_worker';

interface Job {
  value: number;
  /** Milliseconds to wait before answering. */
  delay?: number;
  fail?: string;
  /** Exit code to end this worker thread with. */
  exit?: number;
}

serveWorkerCalls({
  job: async ({ value, delay, fail, exit }: Job) => {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (exit !== undefined) process.exit(exit);
    if (fail) throw new Error(fail);
    return { value: { value: value * 2, worker: workerContext().index } };
  },
});
