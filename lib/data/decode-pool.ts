/**
 * Decoding many images on several cores: the workers of a `WorkerPool` each run `decodeImage`. The wasm/JS
 * engines use one core, and decoding is the cold-load bottleneck, so this roughly divides the first load of a data
 * set by the core count.
 */
import { siblingWorkerModule, withWorkerPool } from '../engine/pool';

/** One file to decode (worker side: ./decode-worker.ts). */
export interface DecodeCall {
  file: string;
  size: number;
}

/** A decoded image, or why the file could not be decoded. */
export type DecodeReply = { pixels: Uint8Array; error?: undefined } | { pixels?: undefined; error: string };

/**
 * Decodes `files` at `size` with `workers` threads; `onResult` gets each image (or its error) by index, in any
 * order. Resolves when all are done; a crashed worker rejects. The workers end with the call: decoded pixels are
 * cached, so a cold load is rare and a kept pool would mostly hold memory.
 */
export async function decodeInWorkers(
  files: readonly string[],
  size: number,
  workers: number,
  onResult: (index: number, pixels: Uint8Array | undefined, error: string | undefined) => void,
): Promise<void> {
  const n = Math.min(workers, files.length);
  if (n < 1) return;
  await withWorkerPool({ script: siblingWorkerModule(__dirname, __filename, 'decode-worker'), size: n }, async (pool) => {
    const decodeOne = async (file: string, worker: number, index: number): Promise<void> => {
      const reply = await pool.call<DecodeReply>(worker, 'decode', { file, size } satisfies DecodeCall);
      onResult(index, reply.pixels, reply.error);
    };
    // Two files in flight per worker keep it busy while this thread copies results.
    await pool.runJobs(files, decodeOne, { inFlight: 2, describe: (file) => `decoding ${file} in a worker` });
  });
}
