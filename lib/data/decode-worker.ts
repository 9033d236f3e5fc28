/**
 * Worker side of the parallel pixel decoder (./decode-pool.ts): decodes the files it is sent and returns their RGB
 * bytes. A file that cannot be decoded is an answer (the caller skips and lists it), not a failed call.
 */
import { serveWorkerCalls } from '../engine/pool_worker';
import { decodeImage } from './decode';
import type { DecodeCall, DecodeReply } from './decode-pool';

serveWorkerCalls({
  decode: async ({ file, size }: DecodeCall) => {
    try {
      const pixels = await decodeImage(file, size);
      return { value: { pixels } satisfies DecodeReply, transfer: [pixels.buffer as ArrayBuffer] };
    } catch (err) {
      return { value: { error: (err as Error).message } satisfies DecodeReply };
    }
  },
});
