/**
 * Data-parallel training steps: each batch is split into contiguous slices, one for this thread and one per
 * worker thread (each its own tfjs engine holding an identical copy of the model); every part computes the
 * gradients of the trainable variables on its slice, and this thread averages them weighted by slice size (the
 * loss is a batch mean, so that is the gradient of the whole batch) for ONE optimizer step done here.
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
import type { BatchSource } from './batches';
import { crossEntropyLoss } from './loss';

function engineName(): EngineName {
  return (currentEngine()?.engine ?? tf.getBackend()) as EngineName;
}

/**
 * Parts per step on the wasm and cpu engines when `trainWorkers` is not given: fixed, not the number of cores,
 * because each slice draws its own dropout masks, so the part count is part of what makes a seeded run
 * repeatable; with a fixed default the same seed gives the same numbers on machines with any number of cores.
 * On an idle 2-core machine 2 parts ran a fine-tune step from block_11 at 128 px 1.2-1.45x faster than one
 * (bench/parallel.ts); more cores can be used by passing `trainWorkers`.
 */
export const DEFAULT_TRAIN_PARTS = 2;

/**
 * Default number of parts per step for `model`: `DEFAULT_TRAIN_PARTS` on the wasm and cpu engines (wasm runs
 * one thread in Node); 1 on the native engines, whose kernels use every core.
 * Also 1 for a model without spatial input (a head on pooled features): its steps take a few milliseconds, and
 * the messages to a worker made them slower (measured 3.3 -> 5.4 ms/step on wasm, 7.7 -> 10.1 on cpu).
 */
export function defaultTrainWorkers(model?: tf.LayersModel): number {
  const engine = engineName();
  if (engineTraits(engine).ownParallelism) return 1;
  if (model && (model.inputs[0]?.shape.length ?? 0) < 4) return 1;
  return DEFAULT_TRAIN_PARTS;
}

/** Every layer of a model, nested models' layers included. */
export function allLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const visit = (layers: tf.layers.Layer[]) => {
    for (const l of layers) {
      out.push(l);
      const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (Array.isArray(inner)) visit(inner);
    }
  };
  visit(model.layers);
  return out;
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
  /** Seed per Dropout layer name. */
  dropoutSeeds: Record<string, number>;
}

export interface SliceResult {
  loss: number;
  hits: number;
  grads: Float32Array[];
}

/** The `originalName` of a model weight (tfjs makes variable names unique per engine; original names are per model). */
function weightName(w: tf.LayerVariable): string {
  return (w as unknown as { originalName: string }).originalName;
}

/** The model's trainable weights by first appearance, shared ones once (`trainableVariables` in ./loop.ts reads them). */
export function trainableWeightList(model: tf.LayersModel): tf.LayerVariable[] {
  const seen = new Set<string>();
  const out: tf.LayerVariable[] = [];
  for (const w of model.trainableWeights) {
    const v = w.read() as tf.Variable;
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    out.push(w);
  }
  return out;
}

/** Sets each Dropout layer's seed (tfjs' Dropout passes `seed` to `tf.dropout`). */
export function applyDropoutSeeds(model: tf.LayersModel, seeds: Record<string, number>): void {
  for (const l of allLayers(model)) {
    if (l.getClassName() === 'Dropout' && seeds[l.name] !== undefined) (l as unknown as { seed?: number }).seed = seeds[l.name];
  }
}

/**
 * Loss, correct-prediction count and gradients of `vars` for one slice, with `training: true` (Dropout on).
 * Shared by this thread's part and the workers' so both compute the same thing. The caller owns the returned
 * tensors (`value`, `hits`, each gradient); `x` and `y` stay the caller's.
 */
export function sliceGradients(
  model: tf.LayersModel,
  vars: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor1D,
  numClasses: number,
): { value: tf.Scalar; hits: tf.Scalar; grads: tf.NamedTensorMap } {
  let hits: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads((): tf.Scalar => {
    const p = model.apply(x, { training: true }) as tf.Tensor;
    hits = tf.keep(tf.sum(tf.equal(tf.argMax(p, -1).toInt(), y).toInt()) as tf.Scalar);
    return crossEntropyLoss(p, y, numClasses);
  }, vars);
  return { value, hits: hits as tf.Scalar, grads };
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
    trainableSpecs: vars.map((w) => ({ name: weightName(w), shape: [...w.shape] as number[] })),
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

export interface ParallelStepOptions {
  /** Parts per step (this thread + parts-1 workers), >= 2. */
  parts: number;
  numClasses: number;
}

/** Seed for a Dropout layer in slice `part` of `parts`. */
export type DropoutSeedFn = (layer: string, part: number, parts: number) => number;

/**
 * A model whose steps run split across this thread and `parts - 1` workers. Open with `open`, then `step` per
 * batch; `close` when training ends (the workers stay in the shared pool for the next run).
 */
export class ParallelSteps {
  private constructor(
    private readonly model: tf.LayersModel,
    private readonly vars: tf.Variable[],
    private readonly pool: WorkerPool,
    private readonly key: string,
    private readonly options: ParallelStepOptions,
    private readonly dropoutNames: string[],
  ) {}

  /** Starts (or reuses) the workers and loads a copy of `model` into each. `vars` must be `trainableVariables(model)`. */
  static async open(model: tf.LayersModel, vars: tf.Variable[], options: ParallelStepOptions): Promise<ParallelSteps> {
    if (!(Number.isInteger(options.parts) && options.parts >= 2)) throw new Error(`ParallelSteps: parts must be an integer >= 2, got ${options.parts}`);
    const obstacle = parallelObstacle(model);
    if (obstacle) throw new Error(`ParallelSteps: ${obstacle}`);
    const weights = trainableWeightList(model);
    if (weights.length !== vars.length || weights.some((w, i) => w.read().id !== vars[i].id)) {
      throw new Error('ParallelSteps: vars must be the trainable variables of the model, in trainableVariables order');
    }
    const pool = await trainingPool(options.parts - 1, engineName());
    const key = `${process.pid}:${++loadCounter}`;
    const payload = await modelPayload(model, weights, key);
    await Promise.all(
      Array.from({ length: options.parts - 1 }, (_, i) =>
        pool.call(i, 'load', payload).catch((err: Error) => {
          throw new Error(`parallel training: worker ${i + 1} could not load model '${model.name}': ${err.message}`);
        }),
      ),
    );
    const dropoutNames = allLayers(model).filter((l) => l.getClassName() === 'Dropout').map((l) => l.name);
    return new ParallelSteps(model, vars, pool, key, options, dropoutNames);
  }

  get parts(): number {
    return this.options.parts;
  }

  /**
   * Loss (batch mean), hits and gradients (batch mean) of one batch, split by `batchSliceSizes`. With a single slice
   * (a batch smaller than two samples) it runs here only, with the one-part dropout seeds. The caller owns the
   * returned tensors.
   */
  async step(
    source: BatchSource,
    indices: readonly number[],
    epoch: number,
    dropoutSeed: DropoutSeedFn,
  ): Promise<{ value: tf.Scalar; hits: tf.Scalar; grads: tf.NamedTensorMap }> {
    const sizes = batchSliceSizes(indices.length, this.options.parts);
    const parts = sizes.length;
    const starts = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const slice = (k: number) => indices.slice(starts[k], starts[k] + sizes[k]);
    const seedsFor = (k: number) => Object.fromEntries(this.dropoutNames.map((n) => [n, dropoutSeed(n, k, parts)]));
    const labelsOf = (idx: readonly number[]) => Int32Array.from(idx, (i) => source.labels[i]);

    // Workers first, so they compute while this thread does its own slice.
    const remote: Promise<SliceResult>[] = [];
    if (parts > 1) {
      const weights = await Promise.all(this.vars.map((v) => v.data() as Promise<Float32Array>));
      for (let k = 1; k < parts; k++) {
        const idx = slice(k);
        const xt = source.batch(idx, epoch);
        const data = (await xt.data()) as Float32Array;
        // The cpu engine hands out its own storage: copy unless the array owns a whole buffer we may move.
        const x = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && tf.getBackend() !== 'cpu' ? data : data.slice();
        const shape = [...xt.shape];
        xt.dispose();
        const job: SliceJob = { key: this.key, weights, x, shape, labels: labelsOf(idx), numClasses: this.options.numClasses, dropoutSeeds: seedsFor(k) };
        remote.push(
          this.pool.call<SliceResult>(k - 1, 'step', job, { transfer: [x.buffer as ArrayBuffer] }).catch((err: Error) => {
            throw new Error(`parallel training: worker ${k} failed: ${err.message}`);
          }),
        );
      }
    }
    // Rejections are awaited below; until then keep them from being reported as unhandled.
    remote.forEach((p) => p.catch(() => undefined));

    const idx0 = slice(0);
    applyDropoutSeeds(this.model, seedsFor(0));
    const local = tf.tidy(() => {
      const x = source.batch(idx0, epoch);
      const y = tf.tensor1d(labelsOf(idx0), 'int32');
      const r = sliceGradients(this.model, this.vars, x, y, this.options.numClasses);
      return { value: r.value, hits: r.hits, grads: r.grads };
    });
    if (parts === 1) return local;

    let results: SliceResult[];
    try {
      results = await Promise.all(remote);
    } catch (err) {
      tf.dispose([local.value, local.hits, ...Object.values(local.grads)]);
      throw err;
    }
    const n = indices.length;
    const combined = tf.tidy(() => {
      const names = this.vars.map((v) => v.name);
      const grads: tf.NamedTensorMap = {};
      names.forEach((name, i) => {
        const v = this.vars[i];
        const terms = [tf.mul(local.grads[name], sizes[0] / n)];
        results.forEach((r, k) => terms.push(tf.mul(tf.tensor(r.grads[i], v.shape, 'float32'), sizes[k + 1] / n)));
        grads[name] = tf.addN(terms);
      });
      const loss = results.reduce((s, r, k) => tf.add(s, tf.scalar(r.loss * sizes[k + 1] / n)), tf.mul(local.value, sizes[0] / n)) as tf.Scalar;
      const hits = results.reduce((s, r) => tf.add(s, tf.scalar(r.hits, 'int32')), local.hits as tf.Tensor) as tf.Scalar;
      return { value: loss, hits, grads };
    });
    tf.dispose([local.value, local.hits, ...Object.values(local.grads)]);
    return combined;
  }

  /** Ends this run's use of the workers: they drop their copy of the model (the pool stays for the next run). */
  async close(): Promise<void> {
    if (!this.pool.usable) return;
    await Promise.all(Array.from({ length: this.options.parts - 1 }, (_, i) => this.pool.call(i, 'unload', { key: this.key }).catch(() => undefined)));
  }
}
