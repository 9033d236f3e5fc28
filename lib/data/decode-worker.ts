/** Worker-thread entry of the parallel pixel decoder: decodes the files it is sent and returns their RGB bytes. */
import { parentPort } from 'node:worker_threads';
import { decodeImage } from './decode';

if (!parentPort) throw new Error('lib/data/decode-worker.ts must run in a worker thread (started by loadPixels)');
const port = parentPort;
port.on('message', (msg: { id: number; file: string; size: number }) => {
  decodeImage(msg.file, msg.size).then(
    (pixels) => port.postMessage({ id: msg.id, pixels }, [pixels.buffer as ArrayBuffer]),
    (err: Error) => port.postMessage({ id: msg.id, error: err.message }),
  );
});
