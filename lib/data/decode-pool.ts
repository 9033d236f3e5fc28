/**
 * Decoding many images on several cores: worker threads each run `decodeImage`. The wasm/JS engines use one core,
 * and decoding is the cold-load bottleneck, so this roughly divides the first load of a data set by the core count.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Workers start from this eval'd bootstrap, which registers ts-node itself when the worker is a .ts file, so
 * they run under a script, the test runner or a tslab kernel alike.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.tsNode) require(workerData.tsNode);
require(workerData.file);
`;

/** The worker module next to this file (.ts under ts-node/tslab, .js when compiled), if present. */
export function decodeWorkerFile(): string | undefined {
  for (const ext of ['.ts', '.js']) {
    const f = path.join(__dirname, `decode-worker${ext}`);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

/**
 * Decodes `files` at `size` with `workers` threads; `onResult` gets each image (or its error) by index, in any
 * order. Resolves when all are done; a crashed worker rejects.
 */
export async function decodeInWorkers(
  files: string[],
  size: number,
  workers: number,
  onResult: (index: number, pixels: Uint8Array | undefined, error: string | undefined) => void,
): Promise<void> {
  const file = decodeWorkerFile();
  if (!file) throw new Error(`decode worker not found next to ${__filename}`);
  const tsNode = file.endsWith('.ts') ? require.resolve('ts-node/register/transpile-only') : undefined;
  const pool = Array.from({ length: Math.min(workers, files.length) }, () => new Worker(BOOTSTRAP, { eval: true, workerData: { file, tsNode } }));
  let next = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      if (!files.length) return resolve();
      let failed = false;
      const fail = (e: Error): void => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      };
      const feed = (w: Worker): void => {
        if (next < files.length) {
          const id = next++;
          w.postMessage({ id, file: files[id], size });
        }
      };
      for (const w of pool) {
        w.on('message', (msg: { id: number; pixels?: Uint8Array; error?: string }) => {
          onResult(msg.id, msg.pixels, msg.error);
          if (++finished === files.length) resolve();
          else feed(w);
        });
        w.on('error', (e) => fail(new Error(`a decode worker failed: ${e.message}`)));
        w.on('exit', (code) => {
          if (finished < files.length) fail(new Error(`a decode worker exited early (code ${code})`));
        });
        // Two files in flight per worker keep it busy while the main thread copies results.
        feed(w);
        feed(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
