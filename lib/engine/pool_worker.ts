/**
 * Worker side of `WorkerPool` (./pool.ts): answers the pool's calls with the given handlers. A handler may return
 * a promise; `emit` sends progress values back while it runs; `transfer` lists buffers to move with the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerReply } from './pool';

export interface HandlerResult {
  value: unknown;
  transfer?: ArrayBuffer[];
}

export type WorkerHandler = (payload: any, emit: (event: unknown) => void) => HandlerResult | Promise<HandlerResult>;

/** The `data` the pool passed to this worker, and its index in the pool. */
export function workerContext(): { data: unknown; index: number } {
  return { data: workerData?.data, index: workerData?.index ?? 0 };
}

/** Serves calls from the pool. Calls run one at a time, in arrival order. */
export function serveWorkerCalls(handlers: Record<string, WorkerHandler>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerCalls: not running in a worker thread');
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: { id: number; method: string; payload: unknown }) => {
    queue = queue.then(async () => {
      const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
      try {
        const handler = handlers[msg.method];
        if (!handler) throw new Error(`worker: unknown method '${msg.method}' (known: ${Object.keys(handlers).join(', ')})`);
        const result = await handler(msg.payload, (value) => send({ id: msg.id, type: 'event', value }));
        send({ id: msg.id, type: 'result', value: result.value }, result.transfer);
      } catch (err) {
        const e = err as Error;
        send({ id: msg.id, type: 'error', message: e?.message ?? String(err), stack: e?.stack });
      }
    });
  });
}
