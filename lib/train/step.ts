/**
 * One training step's loss, hits and gradients, for a batch run in one part (this thread) or split into `parts`
 * contiguous slices (this thread + `parts - 1` workers of ./parallel.ts, gradients averaged by slice size, which
 * is the gradient of the batch-mean loss). Dropout masks are seeded here for every part (./dropout.ts), so a
 * seeded run is repeatable for a given number of parts. Applying the gradients is the caller's (./guard.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from './batches';
import { applyDropoutSeeds, dropoutLayerNames, dropoutSeed } from './dropout';
import { finiteCheck } from './finite';
import { crossEntropyLoss, DEFAULT_LABEL_SMOOTHING } from './loss';
import { batchSliceSizes, defaultTrainWorkers, parallelObstacle, TrainingWorkers, type SliceResult } from './parallel';

/** A step's results. The caller owns every tensor. (A type, not an interface, so `tf.tidy` may return it.) */
export type StepTensors = {
  /** Batch-mean loss. */
  value: tf.Scalar;
  /** Correct predictions in the batch (int32). */
  hits: tf.Scalar;
  /** Batch-mean gradient per variable name. */
  grads: tf.NamedTensorMap;
  /** `finiteCheck` of the model's outputs on the batch: 0 when all are finite, else NaN. */
  outputCheck: tf.Scalar;
};

/** Disposes every tensor of a step. */
export function disposeStep(step: StepTensors): void {
  tf.dispose([step.value, step.hits, step.outputCheck, ...Object.values(step.grads)]);
}

/**
 * Loss, correct-prediction count and gradients of `vars` for one slice, with `training: true` (Dropout on).
 * Shared by this thread's part and the workers' so both compute the same thing. The caller owns the returned
 * tensors; `x` and `y` stay the caller's.
 */
export function sliceGradients(
  model: tf.LayersModel,
  vars: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor1D,
  numClasses: number,
  labelSmoothing = DEFAULT_LABEL_SMOOTHING,
): StepTensors {
  let hits: tf.Scalar | undefined;
  let outputCheck: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads((): tf.Scalar => {
    const p = model.apply(x, { training: true }) as tf.Tensor;
    hits = tf.keep(tf.sum(tf.equal(tf.argMax(p, -1).toInt(), y).toInt()) as tf.Scalar);
    // Checked apart from the loss: the loss clips the probabilities, and the wasm engine's clip turns NaN into the bound.
    outputCheck = tf.keep(finiteCheck(p));
    return crossEntropyLoss(p, y, numClasses, labelSmoothing);
  }, vars);
  return { value, hits: hits as tf.Scalar, grads, outputCheck: outputCheck as tf.Scalar };
}

/**
 * The parts per step for `model`: `asked` (default `defaultTrainWorkers(model)`), or 1 where the model cannot be
 * split, with the reason passed to `onMessage`.
 */
export function resolveParts(model: tf.LayersModel, asked: number | undefined, onMessage?: (reason: string) => void): number {
  const parts = asked ?? defaultTrainWorkers(model);
  if (!(Number.isInteger(parts) && parts >= 1)) throw new Error(`trainWorkers: expected an integer >= 1, got ${parts}`);
  if (parts === 1) return 1;
  const obstacle = parallelObstacle(model);
  if (obstacle) {
    onMessage?.(obstacle);
    return 1;
  }
  return parts;
}

export interface StepRunnerOptions {
  /** Parts per step (this thread + parts-1 workers); 1 runs here only. */
  parts: number;
  numClasses: number;
  /** Seeds the dropout masks (with the epoch, batch, part and layer). */
  seed: number;
  /** Label smoothing of the training loss (./loss.ts). Default `DEFAULT_LABEL_SMOOTHING` (0). */
  labelSmoothing?: number;
}

/** Runs the steps of one training run of `model`. Open with `open`, `step` per batch, `close` at the end. */
export class StepRunner {
  private constructor(
    private readonly model: tf.LayersModel,
    private readonly vars: tf.Variable[],
    private readonly options: StepRunnerOptions,
    private readonly dropoutNames: string[],
    private readonly workers: TrainingWorkers | undefined,
  ) {}

  /** Starts (or reuses) the workers when `parts > 1`. `vars` must be `trainableVariables(model)`. */
  static async open(model: tf.LayersModel, vars: tf.Variable[], options: StepRunnerOptions): Promise<StepRunner> {
    if (!(Number.isInteger(options.parts) && options.parts >= 1)) throw new Error(`StepRunner: parts must be an integer >= 1, got ${options.parts}`);
    const workers = options.parts > 1 ? await TrainingWorkers.open(model, vars, options.parts - 1) : undefined;
    return new StepRunner(model, vars, options, dropoutLayerNames(model), workers);
  }

  get parts(): number {
    return this.options.parts;
  }

  private get labelSmoothing(): number {
    return this.options.labelSmoothing ?? DEFAULT_LABEL_SMOOTHING;
  }

  /**
   * Loss, hits and gradients of the batch `indices` of `source` in (`epoch`, `batch`), split by `batchSliceSizes`.
   * With a single slice (one part, or a batch of one sample) it runs here only, with the one-part dropout seeds.
   * The caller owns the returned tensors.
   */
  async step(source: BatchSource, indices: readonly number[], epoch: number, batch: number): Promise<StepTensors> {
    const sizes = batchSliceSizes(indices.length, this.options.parts);
    const parts = sizes.length;
    const starts = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const slice = (k: number) => indices.slice(starts[k], starts[k] + sizes[k]);
    const seedsFor = (k: number) => Object.fromEntries(this.dropoutNames.map((n) => [n, dropoutSeed(this.options.seed, epoch, batch, n, k, parts)]));
    const labelsOf = (idx: readonly number[]) => Int32Array.from(idx, (i) => source.labels[i]);

    // Workers first, so they compute while this thread does its own slice.
    const remote: Promise<SliceResult>[] = [];
    if (parts > 1 && this.workers) {
      const weights = await Promise.all(this.vars.map((v) => v.data() as Promise<Float32Array>));
      for (let k = 1; k < parts; k++) {
        const idx = slice(k);
        const xt = source.batch(idx, epoch);
        const data = (await xt.data()) as Float32Array;
        // The cpu engine hands out its own storage: copy unless the array owns a whole buffer we may move.
        const x = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && tf.getBackend() !== 'cpu' ? data : data.slice();
        const shape = [...xt.shape];
        xt.dispose();
        remote.push(this.workers.run(k, { weights, x, shape, labels: labelsOf(idx), numClasses: this.options.numClasses, labelSmoothing: this.labelSmoothing, dropoutSeeds: seedsFor(k) }));
      }
    }
    // Rejections are awaited below; until then keep them from being reported as unhandled.
    remote.forEach((p) => p.catch(() => undefined));

    const idx0 = slice(0);
    applyDropoutSeeds(this.model, seedsFor(0));
    const local = tf.tidy(() => {
      const x = source.batch(idx0, epoch);
      const y = tf.tensor1d(labelsOf(idx0), 'int32');
      return sliceGradients(this.model, this.vars, x, y, this.options.numClasses, this.labelSmoothing);
    });
    if (parts === 1) return local;

    let results: SliceResult[];
    try {
      results = await Promise.all(remote);
    } catch (err) {
      disposeStep(local);
      throw err;
    }
    const n = indices.length;
    const combined = tf.tidy(() => {
      const grads: tf.NamedTensorMap = {};
      this.vars.forEach((v, i) => {
        const terms = [tf.mul(local.grads[v.name], sizes[0] / n)];
        results.forEach((r, k) => terms.push(tf.mul(tf.tensor(r.grads[i], v.shape, 'float32'), sizes[k + 1] / n)));
        grads[v.name] = tf.addN(terms);
      });
      const outputCheck = results.reduce((s, r) => tf.add(s, r.outputCheck), local.outputCheck as tf.Tensor) as tf.Scalar;
      const loss = results.reduce((s, r, k) => tf.add(s, tf.scalar(r.loss * sizes[k + 1] / n)), tf.mul(local.value, sizes[0] / n)) as tf.Scalar;
      const hits = results.reduce((s, r) => tf.add(s, tf.scalar(r.hits, 'int32')), local.hits as tf.Tensor) as tf.Scalar;
      return { value: loss, hits, grads, outputCheck };
    });
    disposeStep(local);
    return combined;
  }

  /** Ends the run: workers drop their copy of the model (the pool stays for the next run). */
  async close(): Promise<void> {
    await this.workers?.close();
  }
}
