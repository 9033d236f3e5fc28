/** Worker-thread entry of renderDataset: renders the jobs it is sent, one at a time, and acknowledges each. */
import { parentPort } from 'node:worker_threads';
import { RenderJob, runRenderJob } from './job';

if (!parentPort) throw new Error('lib/data/render/worker.ts must run in a worker thread (started by renderDataset)');
const port = parentPort;
port.on('message', (msg: { id: number; job: RenderJob }) => {
  try {
    runRenderJob(msg.job);
    port.postMessage({ id: msg.id });
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
