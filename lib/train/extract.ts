/**
 * Feature extraction: runs a frozen model (a base, a prefix of it, or a part that starts at an inner layer) over a
 * whole set and returns the activations as one Float32Array in the original image order. The input is either uint8
 * pixels, scaled to the model's input range batch by batch so the float copy of the whole set never exists, or the
 * activations of an earlier layer (`ActivationInput`), so one frozen pass can be continued from where it was cached.
 * The work runs in-process or, on the wasm and cpu engines, split by sample index across a persistent pool of worker
 * threads, each with its own tfjs engine (the wasm backend is single-threaded in Node, so this is how a second core
 * gets used). Both paths run the same code on the
 * same batches, so they give the same numbers.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { currentEngine, EngineName, engineTraits } from '../engine/engine';
import { sharedWorkerPool, siblingWorkerModule, WorkerPool } from '../engine/pool';
import { buildInferenceSpec, FoldedModel, InferenceSpec } from '../model/fold';

export interface FeatureInput {
  /** count * size * size * 3 RGB bytes, image after image, row-major. */
  pixels: Uint8Array;
  count: number;
  size: number;
  /** Input range of the model: byte 0 maps to range[0], byte 255 to range[1] (e.g. [-1, 1] or [0, 1]). */
  range: [number, number];
}

/** Activations of an earlier layer, the input of a model that starts there: samples back to back. */
export interface ActivationInput {
  values: Float32Array;
  /** [count, ...one sample's shape]. */
  shape: number[];
}

export interface ExtractOptions {
  /** Images per unit of work (one progress step; what a worker takes at a time). Default 32. Forward passes inside it run 8 images at a time. */
  batchSize?: number;
  /**
   * Worker threads. Default: `os.availableParallelism()` on the wasm and cpu engines. The GPU and native TensorFlow
   * engines (which use the device or every core themselves) always run in this thread, whatever is asked. 1 runs in
   * this thread.
   */
  workers?: number;
  /** Run the BN-folded, fused inference form (lib/model/fold.ts). Default true. */
  fold?: boolean;
  /** Called after each batch with the number of images done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface Features {
  data: Float32Array;
  /** [count, ...per-image shape]. */
  shape: number[];
}

/** Everything a thread needs to run one batch: pixels (scaled to `range`) or activations (`sampleShape` each). */
export type BatchJob = { start: number; count: number } & (
  | { pixels: Uint8Array; size: number; range: [number, number] }
  | { values: Float32Array; sampleShape: number[] }
);

/**
 * Images per forward pass inside a batch. Smaller passes keep the expanded activations in the CPU caches (faster
 * per image than whole batches on wasm; README "Feature extraction on every core").
 */
const FORWARD_CHUNK = 8;

/**
 * Scales one batch of uint8 pixels to the model range and runs it. The caller owns the returned array.
 * Shared by the in-process path and the workers so both compute exactly the same thing. Async because the
 * webgpu engine reads device memory back only asynchronously.
 */
export async function runExtractionBatch(model: FoldedModel, job: BatchJob): Promise<Float32Array> {
  const sample = 'pixels' in job ? [job.size, job.size, 3] : job.sampleShape;
  const per = sample.reduce((a, b) => a * b, 1);
  let x: Float32Array;
  if ('pixels' in job) {
    const [lo, hi] = job.range;
    const k = (hi - lo) / 255;
    const src = job.pixels.subarray(job.start * per, (job.start + job.count) * per);
    x = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) x[i] = src[i] * k + lo;
  } else {
    x = job.values.subarray(job.start * per, (job.start + job.count) * per);
  }
  const perOut = model.spec.outputShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(job.count * perOut);
  for (let i = 0; i < job.count; i += FORWARD_CHUNK) {
    const n = Math.min(FORWARD_CHUNK, job.count - i);
    const out = tf.tidy(() => model.predict(tf.tensor(x.subarray(i * per, (i + n) * per), [n, ...sample])));
    try {
      data.set((await out.data()) as Float32Array, i * perOut);
    } finally {
      out.dispose();
    }
  }
  return data;
}

function isNativeEngine(): boolean {
  return engineTraits(currentEngine()?.engine ?? tf.getBackend()).ownParallelism;
}

function defaultWorkers(): number {
  return isNativeEngine() ? 1 : Math.max(1, os.availableParallelism());
}

function validate(model: tf.LayersModel, input: FeatureInput | ActivationInput, batchSize: number, workers: number): number {
  const shape = model.inputs[0]?.shape;
  let count: number;
  let sample: number[];
  if ('values' in input) {
    const { values, shape: inShape } = input;
    if (!(values instanceof Float32Array)) throw new Error('extractFeatures: input.values must be a Float32Array');
    if (!Array.isArray(inShape) || inShape.length < 2 || !inShape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`extractFeatures: input.shape must be [count, ...sample shape] of integers, got ${JSON.stringify(inShape)}`);
    }
    if (values.length !== inShape.reduce((a, b) => a * b, 1)) {
      throw new Error(`extractFeatures: input.values has ${values.length} numbers, expected ${inShape.join('*')} for shape [${inShape}]`);
    }
    [count, ...sample] = inShape;
  } else {
    const { pixels, size, range } = input;
    count = input.count;
    if (!(pixels instanceof Uint8Array)) throw new Error('extractFeatures: input.pixels must be a Uint8Array');
    if (!Number.isInteger(count) || count < 0) throw new Error(`extractFeatures: input.count must be an integer >= 0, got ${count}`);
    if (!Number.isInteger(size) || size < 1) throw new Error(`extractFeatures: input.size must be a positive integer, got ${size}`);
    if (pixels.length !== count * size * size * 3) {
      throw new Error(`extractFeatures: input.pixels has ${pixels.length} bytes, expected count*size*size*3 = ${count * size * size * 3}`);
    }
    if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite)) {
      throw new Error(`extractFeatures: input.range must be two finite numbers, got ${JSON.stringify(range)}`);
    }
    sample = [size, size, 3];
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`extractFeatures: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`extractFeatures: workers must be a positive integer, got ${workers}`);
  if (!shape || shape.length !== sample.length + 1 || sample.some((d, i) => shape[i + 1] != null && shape[i + 1] !== d)) {
    throw new Error(`extractFeatures: model '${model.name}' takes input ${JSON.stringify(shape)}, but the samples are ${sample.join('x')}`);
  }
  return count;
}

/** Key of a spec's content, so workers reload weights only when they changed. */
function specKey(spec: InferenceSpec): string {
  const h = createHash('sha256');
  const bytes = (a: Float32Array) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update(JSON.stringify([spec.version, spec.inputShape, spec.output, spec.folded]));
  for (const s of spec.steps) {
    if (s.kind === 'conv2d' || s.kind === 'depthwise') {
      const { filter, bias, ...rest } = s;
      h.update(JSON.stringify(rest));
      bytes(filter);
      if (bias) bytes(bias);
    } else if (s.kind === 'layer') {
      const { weights, ...rest } = s;
      h.update(JSON.stringify(rest));
      for (const w of weights) {
        h.update(JSON.stringify(w.shape));
        bytes(w.data);
      }
    } else {
      h.update(JSON.stringify(s));
    }
  }
  return h.digest('hex');
}

/** Extraction pools, one per engine; `loaded[i]` is the spec key worker i holds. */
interface ExtractionPool {
  pool: WorkerPool;
  loaded: (string | null)[];
  /** Calls on one pool run one after another: each loads its own weights into the workers. */
  queue: Promise<unknown>;
}
const extractionPools = new WeakMap<WorkerPool, ExtractionPool>();
async function extractionPool(threads: number, engine: EngineName): Promise<ExtractionPool> {
  const pool = await sharedWorkerPool(`extract:${engine}`, threads, () => new WorkerPool({ script: siblingWorkerModule(__dirname, __filename, 'extract_worker'), size: threads }));
  let ep = extractionPools.get(pool);
  if (!ep) {
    const ready = Promise.all(Array.from({ length: pool.size }, (_, i) => pool.call(i, 'init', { engine }))).catch(async (err) => {
      // A pool whose engines did not start is dropped; the next call starts a new one.
      await pool.terminate();
      throw err;
    });
    ep = { pool, loaded: new Array(pool.size).fill(null), queue: ready };
    extractionPools.set(pool, ep);
  }
  return ep;
}

interface PoolRun {
  spec: InferenceSpec;
  input: FeatureInput | ActivationInput;
  batches: { start: number; count: number }[];
  perImage: number;
  data: Float32Array;
  onBatch: (count: number) => void;
}

/**
 * The job for one batch. For a worker (`copy`), memory the worker cannot see (not a SharedArrayBuffer) is copied
 * to a batch-sized array of its own, to be transferred; in this thread, or in shared memory, the job views the input.
 */
function batchJob(input: FeatureInput | ActivationInput, b: { start: number; count: number }, copy: boolean): { job: BatchJob; transfer: ArrayBuffer[] } {
  const own = copy && !(('values' in input ? input.values : input.pixels).buffer instanceof SharedArrayBuffer);
  const start = own ? 0 : b.start;
  if ('values' in input) {
    const sampleShape = input.shape.slice(1);
    const per = sampleShape.reduce((a, c) => a * c, 1);
    const values = own ? input.values.slice(b.start * per, (b.start + b.count) * per) : input.values;
    return { job: { start, count: b.count, values, sampleShape }, transfer: own ? [values.buffer as ArrayBuffer] : [] };
  }
  const per = input.size * input.size * 3;
  const pixels = own ? input.pixels.slice(b.start * per, (b.start + b.count) * per) : input.pixels;
  return { job: { start, count: b.count, pixels, size: input.size, range: input.range }, transfer: own ? [pixels.buffer as ArrayBuffer] : [] };
}

/** Hands batches to `threads` workers as they free up; each result is written at its images' place. */
async function runOnPool(ep: ExtractionPool, threads: number, run: PoolRun): Promise<void> {
  const { spec, input, batches, perImage, data } = run;
  const key = specKey(spec);
  const workers = Array.from({ length: threads }, (_, i) => i);
  await Promise.all(
    workers.map(async (i) => {
      if (ep.loaded[i] === key) return;
      ep.loaded[i] = null;
      await ep.pool.call(i, 'load', { key, spec });
      ep.loaded[i] = key;
    }),
  );
  await ep.pool.runJobs(
    batches,
    async (b, worker) => {
      const { job, transfer } = batchJob(input, b, true);
      const out = await ep.pool.call<Float32Array>(worker, 'extract', { key, job }, { transfer });
      data.set(out, b.start * perImage);
      run.onBatch(b.count);
    },
    { workers: threads, describe: (b) => `extracting samples ${b.start}..${b.start + b.count - 1}` },
  );
}

/** Ends the extraction worker threads (and any other kept pools); the next parallel extraction starts new ones. */
export { shutdownWorkerPools as shutdownExtractionWorkers } from '../engine/pool';

/**
 * Runs the frozen `model` (BN in inference mode) over every sample of `input` (images, or the activations of an
 * earlier layer when `model` starts there) and returns the activations in the original order. The caller owns the
 * returned array; no tensors stay allocated. Worker threads (see `ExtractOptions.workers`) are kept for the next
 * call; `shutdownExtractionWorkers()` ends them.
 */
export async function extractFeatures(model: tf.LayersModel, input: FeatureInput | ActivationInput, options: ExtractOptions = {}): Promise<Features> {
  const batchSize = options.batchSize ?? 32;
  const workers = options.workers ?? defaultWorkers();
  const fold = options.fold ?? true;
  const count = validate(model, input, batchSize, workers);
  // buildInferenceSpec reads the weights synchronously; webgpu can only do that for values an async read brought back.
  await Promise.all(model.weights.map((w) => w.read().data()));
  const spec = buildInferenceSpec(model, { fold });
  const perImage = spec.outputShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count * perImage);
  const shape = [count, ...spec.outputShape];
  const batches: { start: number; count: number }[] = [];
  for (let start = 0; start < count; start += batchSize) batches.push({ start, count: Math.min(batchSize, count - start) });
  if (!batches.length) return { data, shape };

  let done = 0;
  const report = (n: number) => {
    done += n;
    options.onProgress?.(done, count);
  };
  // Native engines already use every core inside each kernel: more threads would only compete.
  const threads = isNativeEngine() ? 1 : Math.min(workers, batches.length);
  if (threads <= 1) {
    const folded = new FoldedModel(spec);
    try {
      for (const b of batches) {
        data.set(await runExtractionBatch(folded, batchJob(input, b, false).job), b.start * perImage);
        report(b.count);
        // Let progress bars and other callbacks run between batches.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      folded.dispose();
    }
    return { data, shape };
  }

  const engine = (currentEngine()?.engine ?? tf.getBackend()) as EngineName;
  const ep = await extractionPool(threads, engine);
  const turn = ep.queue.then(() => runOnPool(ep, threads, { spec, input, batches, perImage, data, onBatch: report }));
  ep.queue = turn.catch(() => undefined);
  await turn;
  return { data, shape };
}
