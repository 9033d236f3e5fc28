/**
 * The worker threads of a data-parallel training step (./step.ts splits each batch into contiguous slices: the
 * first for this thread, one per worker). Each worker is its own tfjs engine holding an identical copy of the
 * model and returns the loss, hits and gradients of its slice; ./step.ts averages them weighted by slice size (the
 * loss is a batch mean, so that is the gradient of the whole batch) for ONE optimizer step in this thread.
 * The wasm engine runs one thread in Node, so this is how a training step uses a second core.
 *
 * Workers get the topology and all weights once per training run, then the current trainable weights with every
 * step (a copy of a few MB, small next to a step, and exact whatever the optimizer, rollback or best-weight
 * restore did to them). BatchNormalization must run in inference mode (lib/model/batchnorm.ts guards): then
 * samples do not interact, and with dropout 0 the split result equals the one-thread result up to float
 * rounding. Dropout masks are seeded per slice, so with dropout > 0 they differ from a one-thread run (still
 * repeatable for the same seed and number of parts).
 */
import * as tf from '@tensorflow/tfjs';
import { currentEngine, engineTraits, type EngineName } from '../engine/engine';
import { sharedWorkerPool, siblingWorkerModule, WorkerPool } from '../engine/pool';
import { batchNormMode, isBatchNorm } from '../model/batchnorm';
import { allLayers, trainableWeightList, weightOriginalName } from '../model/layers';

function engineName(): EngineName {
  return (currentEngine()?.engine ?? tf.getBackend()) as EngineName;
}

/**
 * Parts per step on the wasm and cpu engines when `trainWorkers` is not given: fixed, not the number of cores,
 * because each slice draws its own dropout masks, so the part count is part of what makes a seeded run
 * repeatable; with a fixed default the same seed gives the same numbers on machines with any number of cores.
 * Two parts use both cores of a small machine (README "Training steps on both cores", bench/parallel.ts); more
 * cores can be used by passing `trainWorkers`.
 */
export const DEFAULT_TRAIN_PARTS = 2;

/**
 * Default number of parts per step for `model`: `DEFAULT_TRAIN_PARTS` on the wasm and cpu engines (wasm runs
 * one thread in Node); 1 on the GPU and native engines, whose kernels use the device or every core.
 * Also 1 for a model without spatial input (a head on pooled features): its steps take a few milliseconds, and
 * the messages to a worker cost more than they save.
 */
export function defaultTrainWorkers(model?: tf.LayersModel): number {
  const engine = engineName();
  if (engineTraits(engine).ownParallelism) return 1;
  if (model && (model.inputs[0]?.shape.length ?? 0) < 4) return 1;
  return DEFAULT_TRAIN_PARTS;
}

/** Slice sizes of a batch of `n` samples over `parts` parts: contiguous, the first ones one larger. Empty parts dropped. */
export function batchSliceSizes(n: number, parts: number): number[] {
  const base = Math.floor(n / parts);
  const extra = n % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0)).filter((s) => s > 0);
}

/** A model as the workers receive it. */
export interface ParallelModelPayload {
  key: string;
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  /** Trainable flag per layer name (set again after loading, whatever the topology says). */
  trainable: Record<string, boolean>;
  /** `originalName` and shape of each trainable variable, in `trainableVariables` order, to check the copy. */
  trainableSpecs: { name: string; shape: number[] }[];
}

/** One worker's part of a step. */
export interface SliceJob {
  key: string;
  /** Current values of the trainable variables, in order. */
  weights: Float32Array[];
  x: Float32Array;
  shape: number[];
  labels: Int32Array;
  numClasses: number;
  labelSmoothing: number;
  /** Seed per Dropout layer name. */
  dropoutSeeds: Record<string, number>;
}

export interface SliceResult {
  loss: number;
  hits: number;
  grads: Float32Array[];
  /** 0 when all of the slice's outputs were finite, else NaN (`finiteCheck`). */
  outputCheck: number;
}

/** Why `model` cannot be split across threads, or null when it can. */
export function parallelObstacle(model: tf.LayersModel): string | null {
  for (const l of allLayers(model)) {
    const mode = batchNormMode(l);
    if (isBatchNorm(l) && mode !== 'inference') {
      return `BatchNormalization layer '${l.name}' runs with batch statistics (mode '${mode}'), so samples of a batch interact`;
    }
  }
  return null;
}

async function modelPayload(model: tf.LayersModel, vars: tf.LayerVariable[], key: string): Promise<ParallelModelPayload> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error(`parallel training: could not serialise model '${model.name}'`);
  }
  const weightData = Array.isArray(artifacts.weightData) ? tf.io.concatenateArrayBuffers(artifacts.weightData) : artifacts.weightData;
  return {
    key,
    topology: artifacts.modelTopology as object,
    weightSpecs: artifacts.weightSpecs,
    weightData,
    trainable: Object.fromEntries(allLayers(model).map((l) => [l.name, l.trainable])),
    trainableSpecs: vars.map((w) => ({ name: weightOriginalName(w), shape: [...w.shape] as number[] })),
  };
}

const initialised = new WeakMap<WorkerPool, Promise<unknown>>();
let loadCounter = 0;

/** The kept pool of training workers for this engine, engines started (at least `size` workers). */
async function trainingPool(size: number, engine: EngineName): Promise<WorkerPool> {
  const pool = await sharedWorkerPool(`train:${engine}`, size, () => new WorkerPool({ script: siblingWorkerModule(__dirname, __filename, 'parallel_worker'), size }));
  let ready = initialised.get(pool);
  if (!ready) {
    ready = Promise.all(Array.from({ length: pool.size }, (_, i) => pool.call(i, 'init', { engine }))).catch(async (err) => {
      await pool.terminate();
      throw new Error(`parallel training: a worker's engine did not start: ${(err as Error).message}`);
    });
    initialised.set(pool, ready);
  }
  await ready;
  return pool;
}

/**
 * The `parts - 1` workers of a split step, each holding a copy of one model. Open with `open`, send each slice
 * with `run`, `close` when training ends (the workers stay in the shared pool for the next run).
 */
export class TrainingWorkers {
  private constructor(
    private readonly pool: WorkerPool,
    private readonly key: string,
    readonly count: number,
  ) {}

  /** Starts (or reuses) `count` workers and loads a copy of `model` into each. `vars` must be `trainableVariables(model)`. */
  static async open(model: tf.LayersModel, vars: tf.Variable[], count: number): Promise<TrainingWorkers> {
    if (!(Number.isInteger(count) && count >= 1)) throw new Error(`TrainingWorkers: count must be an integer >= 1, got ${count}`);
    const obstacle = parallelObstacle(model);
    if (obstacle) throw new Error(`TrainingWorkers: ${obstacle}`);
    const weights = trainableWeightList(model);
    if (weights.length !== vars.length || weights.some((w, i) => w.read().id !== vars[i].id)) {
      throw new Error('TrainingWorkers: vars must be the trainable variables of the model, in trainableVariables order');
    }
    const pool = await trainingPool(count, engineName());
    const key = `${process.pid}:${++loadCounter}`;
    const payload = await modelPayload(model, weights, key);
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        pool.call(i, 'load', payload).catch((err: Error) => {
          throw new Error(`parallel training: worker ${i + 1} could not load model '${model.name}': ${err.message}`);
        }),
      ),
    );
    return new TrainingWorkers(pool, key, count);
  }

  /** Sends one slice to worker `k` (1-based: part k of the step). `job.x`'s buffer is moved, not copied. */
  run(k: number, job: Omit<SliceJob, 'key'>): Promise<SliceResult> {
    const full: SliceJob = { ...job, key: this.key };
    return this.pool.call<SliceResult>(k - 1, 'step', full, { transfer: [job.x.buffer as ArrayBuffer] }).catch((err: Error) => {
      throw new Error(`parallel training: worker ${k} failed: ${err.message}`);
    });
  }

  /** Ends this run's use of the workers: they drop their copy of the model (the pool stays for the next run). */
  async close(): Promise<void> {
    if (!this.pool.usable) return;
    await Promise.all(Array.from({ length: this.count }, (_, i) => this.pool.call(i, 'unload', { key: this.key }).catch(() => undefined)));
  }
}
