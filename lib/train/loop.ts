/**
 * The training loop, written out instead of `model.fit` so that the batch order, the dropout masks and the
 * set of updated variables are ours: the cached path (suffix on stored activations) and the plain path
 * (whole model on pixels) then take bit-for-bit the same steps, up to float rounding in the frozen prefix.
 *
 * Per step: pick the batch from a seeded shuffle, give every Dropout layer a seed derived from
 * (seed, epoch, batch, layer name) so the masks are repeatable, compute the loss and the gradients of the
 * trainable variables, refuse to apply them if the loss or any gradient is not finite (the weights stay the
 * last good ones and training stops with a message), apply them with the optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, derivedSeed } from '../util/random';
import type { BatchSource } from './batches';
import { crossEntropyLoss } from './loss';
import { defaultTrainWorkers, ParallelSteps, parallelObstacle, trainableWeightList } from './parallel';
import type { TrainingCallbacks } from './progress';
import { scheduledLearningRate, type LrSchedule } from './schedule';
import type { EpochRecord, StopReason, TrainingPhase } from './types';
import { DEFAULT_OPTIMIZER, makeOptimizer, type OptimizerName } from './optimizer';

export interface EarlyStoppingOptions {
  /** Epochs without an improvement of the validation loss before stopping. Default 3. */
  patience?: number;
  /** Smallest decrease of the validation loss that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Put back the weights of the epoch with the best validation loss when training ends. Default true. */
  restoreBestWeights?: boolean;
}

/** A subset of a batch source: the samples `indices` (default: all). */
export interface SourceSubset {
  source: BatchSource;
  indices?: readonly number[];
}

export interface FitOptions {
  phase: TrainingPhase;
  /** Epochs to run. */
  epochs: number;
  /** Samples per step. */
  batchSize: number;
  /** Base learning rate (the schedule may change it per epoch). */
  learningRate: number;
  /** Default `DEFAULT_OPTIMIZER` (./optimizer.ts). */
  optimizer?: OptimizerName;
  /** Seeds the batch order, the augmented-view choice and the dropout masks. */
  seed: number;
  /** Number of the first epoch in the history (fine-tuning continues head training's numbering). Default 1. */
  firstEpoch?: number;
  /** Validation samples, evaluated at the end of every epoch without dropout or augmentation. */
  validation?: SourceSubset;
  /** Early stopping on the validation loss. Default: off. */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Learning-rate schedule over this call's epochs. Default constant. */
  schedule?: LrSchedule;
  callbacks?: TrainingCallbacks;
  /**
   * Threads each step's batch is split across (this one + trainWorkers-1 worker threads, gradients averaged,
   * one optimizer step; lib/train/parallel.ts). 1 = off. Default `defaultTrainWorkers(model)`: 2 on wasm and cpu
   * for models with image input, whatever the number of cores, else 1 (native engines use every core themselves; a
   * head on pooled features: steps too short to pay for the messages). With dropout 0 the result equals one
   * thread's up to float rounding; with dropout > 0 each slice gets its own seeded masks, so the result depends on
   * the number of parts (still repeatable per seed and part count).
   * Models whose BatchNormalization uses batch statistics always train in one thread.
   */
  trainWorkers?: number;
}

export interface FitResult {
  records: EpochRecord[];
  stopReason: StopReason;
  /** Set when training stopped early, for people. */
  message?: string;
  /** Epoch (history numbering) whose weights the model holds at the end when best weights were restored. */
  restoredEpoch?: number;
  seconds: number;
}

/** The model's Dropout layers, nested models included. */
function dropoutLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const visit = (layers: tf.layers.Layer[]) => {
    for (const l of layers) {
      if (l.getClassName() === 'Dropout') out.push(l);
      const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (Array.isArray(inner)) visit(inner);
    }
  };
  visit(model.layers);
  return out;
}

/**
 * Seed of a Dropout layer's mask in a step. A step split into several slices (lib/train/parallel.ts) gives each
 * slice its own seed; one slice keeps the one-thread seed, so an unsplit run is unchanged.
 */
function dropoutSeed(seed: number, epoch: number, batch: number, layer: string, part = 0, parts = 1): number {
  return derivedSeed(seed, parts > 1 ? `dropout:${epoch}:${batch}:${part}/${parts}:${layer}` : `dropout:${epoch}:${batch}:${layer}`);
}

/** Gives each Dropout layer a fresh seed for this step; tfjs' Dropout passes its `seed` field to `tf.dropout`. */
function seedDropout(layers: tf.layers.Layer[], seed: number, epoch: number, batch: number): void {
  for (const l of layers) (l as unknown as { seed?: number }).seed = dropoutSeed(seed, epoch, batch, l.name);
}

/** The number of threads per step asked for (default per engine), or 1 with a message where the model cannot be split. */
function resolveTrainWorkers(model: tf.LayersModel, options: FitOptions): number {
  const asked = options.trainWorkers ?? defaultTrainWorkers(model);
  checkPositiveInt(asked, 'trainWorkers');
  if (asked === 1) return 1;
  const obstacle = parallelObstacle(model);
  if (obstacle) {
    options.callbacks?.onMessage?.(`${options.phase}: training in one thread: ${obstacle}`);
    return 1;
  }
  return asked;
}

/** The tf.Variables behind the model's trainable weights (shared layers included once). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return trainableWeightList(model).map((w) => w.read() as tf.Variable);
}

function checkPositiveInt(value: number, name: string): void {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${name}: expected an integer >= 1, got ${value}`);
}

/** Mean loss and accuracy of `model` on a subset, in inference mode, `batchSize` at a time. */
export async function evaluateOnSource(
  model: tf.LayersModel,
  subset: SourceSubset,
  numClasses: number,
  batchSize = 64,
): Promise<{ loss: number; accuracy: number }> {
  const indices = subset.indices ?? Array.from({ length: subset.source.count }, (_, i) => i);
  if (!indices.length) throw new Error('evaluateOnSource: no samples');
  let lossSum = 0;
  let correct = 0;
  for (let s = 0; s < indices.length; s += batchSize) {
    const idx = indices.slice(s, s + batchSize);
    const [l, c] = tf.tidy(() => {
      const x = subset.source.batch(idx, 0);
      const y = tf.tensor1d(idx.map((i) => subset.source.labels[i]), 'int32');
      const p = model.apply(x, { training: false }) as tf.Tensor;
      const loss = tf.mul(crossEntropyLoss(p, y, numClasses), idx.length);
      const hits = tf.sum(tf.equal(tf.argMax(p, -1).toInt(), y).toInt());
      return [loss, hits];
    });
    const [lv, cv] = await Promise.all([l.data(), c.data()]);
    l.dispose();
    c.dispose();
    lossSum += lv[0];
    correct += cv[0];
  }
  return { loss: lossSum / indices.length, accuracy: correct / indices.length };
}

/**
 * Trains the trainable variables of `model` on `train`. The model must output class probabilities
 * (softmax). Layers that must stay in inference mode (BatchNormalization of a base) must already be set
 * so (lib/model's freeze/unfreeze do this); the model is called with `training: true` so Dropout is active.
 * Tensors: everything created here is disposed; the model's weights are updated in place.
 */
export async function fitOnSource(model: tf.LayersModel, train: SourceSubset, options: FitOptions): Promise<FitResult> {
  checkPositiveInt(options.epochs, 'epochs');
  checkPositiveInt(options.batchSize, 'batchSize');
  if (!(options.learningRate > 0 && Number.isFinite(options.learningRate))) {
    throw new Error(`learningRate: expected a positive number, got ${options.learningRate}`);
  }
  const started = Date.now();
  const cb = options.callbacks ?? {};
  const firstEpoch = options.firstEpoch ?? 1;
  const outShape = model.outputs[0].shape;
  const numClasses = outShape[outShape.length - 1] as number;
  const trainIdx = train.indices ? [...train.indices] : Array.from({ length: train.source.count }, (_, i) => i);
  if (!trainIdx.length) throw new Error('fitOnSource: no training samples');
  const vars = trainableVariables(model);
  if (!vars.length) throw new Error('fitOnSource: the model has no trainable weights (is everything frozen?)');
  const drops = dropoutLayers(model);
  const batches = Math.ceil(trainIdx.length / options.batchSize);
  const es = options.earlyStopping ? { patience: 3, minDelta: 0, restoreBestWeights: true, ...options.earlyStopping } : undefined;
  if (es && !options.validation) cb.onMessage?.('early stopping needs a validation split; it is off for this run');
  const useEs = es && options.validation ? es : undefined;

  const parts = resolveTrainWorkers(model, options);
  const optimizer = makeOptimizer(options.optimizer ?? DEFAULT_OPTIMIZER, options.learningRate);
  let parallel: ParallelSteps | undefined;
  const records: EpochRecord[] = [];
  let stopReason: StopReason = 'completed';
  let message: string | undefined;
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  let restoredEpoch: number | undefined;
  let sinceBest = 0;
  let batchesDone = 0;
  const totalBatches = batches * options.epochs;
  cb.onPhaseStart?.({ phase: options.phase, epochs: options.epochs, batches, samples: trainIdx.length, firstEpoch });

  try {
    if (parts > 1) parallel = await ParallelSteps.open(model, vars, { parts, numClasses });
    for (let e = 0; e < options.epochs && stopReason === 'completed'; e++) {
      const epoch = firstEpoch + e;
      const epochStart = Date.now();
      const lr = scheduledLearningRate(options.learningRate, e, options.epochs, options.schedule);
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const order = createRng(derivedSeed(options.seed, `order:${epoch}`)).shuffled(trainIdx);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        const idx = order.slice(b * options.batchSize, (b + 1) * options.batchSize);
        let hits: tf.Tensor | undefined;
        let value: tf.Scalar;
        let grads: tf.NamedTensorMap;
        if (parallel) {
          ({ value, hits, grads } = await parallel.step(train.source, idx, epoch, (layer, part, n) => dropoutSeed(options.seed, epoch, b, layer, part, n)));
        } else {
          seedDropout(drops, options.seed, epoch, b);
          ({ value, grads } = tf.variableGrads(() => {
            const x = train.source.batch(idx, epoch);
            const y = tf.tensor1d(idx.map((i) => train.source.labels[i]), 'int32');
            const p = model.apply(x, { training: true }) as tf.Tensor;
            hits = tf.keep(tf.sum(tf.equal(tf.argMax(p, -1).toInt(), y).toInt()));
            return crossEntropyLoss(p, y, numClasses);
          }, vars));
        }
        // One scalar says whether the loss and every gradient are finite (a NaN or Inf anywhere propagates).
        const check = tf.tidy(() => tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]));
        const [lossV, checkV, hitsV] = await Promise.all([value.data(), check.data(), (hits as tf.Tensor).data()]);
        check.dispose();
        value.dispose();
        (hits as tf.Tensor).dispose();
        const stop = (what: string) => {
          stopReason = 'non-finite-loss';
          message =
            `${options.phase}: ${what} at epoch ${epoch}, batch ${b + 1}; training stopped and the model keeps ` +
            `the last good weights (try a lower learning rate, or check the data for NaN/Inf)`;
          cb.onMessage?.(message);
        };
        if (!Number.isFinite(lossV[0]) || !Number.isFinite(checkV[0])) {
          tf.dispose(grads);
          stop(Number.isFinite(lossV[0]) ? 'a gradient became non-finite (NaN or Inf)' : `the loss became ${lossV[0]}`);
          break;
        }
        // A finite step can still overflow the weights (a far too high learning rate): keep the previous ones then.
        const previous = vars.map((v) => v.clone());
        optimizer.applyGradients(grads);
        tf.dispose(grads);
        const weightCheck = tf.tidy(() => tf.addN(vars.map((v) => tf.sum(v))));
        const weightsFinite = Number.isFinite((await weightCheck.data())[0]);
        weightCheck.dispose();
        if (!weightsFinite) vars.forEach((v, i) => v.assign(previous[i]));
        tf.dispose(previous);
        if (!weightsFinite) {
          stop('the update made the weights non-finite (NaN or Inf)');
          break;
        }
        lossSum += lossV[0] * idx.length;
        correct += hitsV[0];
        seen += idx.length;
        batchesDone++;
        const elapsed = (Date.now() - started) / 1000;
        cb.onBatchEnd?.({
          phase: options.phase,
          epoch,
          phaseEpoch: e + 1,
          phaseEpochs: options.epochs,
          batch: b + 1,
          batches,
          loss: lossSum / seen,
          accuracy: correct / seen,
          elapsedSeconds: elapsed,
          etaSeconds: (elapsed / batchesDone) * (totalBatches - batchesDone),
        });
        // Let timers and signal handlers run between steps (a notebook stays responsive).
        await new Promise((r) => setImmediate(r));
      }
      if (!seen) break;
      const record: EpochRecord = { epoch, phase: options.phase, loss: lossSum / seen, accuracy: correct / seen, lr, seconds: 0 };
      if (options.validation) {
        const v = await evaluateOnSource(model, options.validation, numClasses, Math.max(options.batchSize, 64));
        record.valLoss = v.loss;
        record.valAccuracy = v.accuracy;
      }
      record.seconds = (Date.now() - epochStart) / 1000;
      records.push(record);
      const elapsed = (Date.now() - started) / 1000;
      cb.onEpochEnd?.(record, { phaseEpochs: options.epochs, etaSeconds: (elapsed / (e + 1)) * (options.epochs - e - 1) });
      if (stopReason !== 'completed') break;
      if (useEs && record.valLoss !== undefined) {
        if (!best || record.valLoss < best.loss - useEs.minDelta) {
          if (best) tf.dispose(best.weights);
          best = { loss: record.valLoss, epoch, weights: useEs.restoreBestWeights ? vars.map((v) => tf.keep(v.clone())) : [] };
          sinceBest = 0;
        } else if (++sinceBest >= useEs.patience) {
          stopReason = 'early-stopping';
          message = `${options.phase}: early stopping at epoch ${epoch}: val_loss did not improve for ${useEs.patience} epochs (best ${best.loss.toFixed(4)} at epoch ${best.epoch})`;
          cb.onMessage?.(message);
        }
      }
    }
    if (best && useEs?.restoreBestWeights && (stopReason as StopReason) !== 'non-finite-loss' && best.epoch !== records[records.length - 1]?.epoch) {
      vars.forEach((v, i) => v.assign(best!.weights[i]));
      restoredEpoch = best.epoch;
      cb.onMessage?.(`${options.phase}: restored the weights of epoch ${best.epoch} (best val_loss ${best.loss.toFixed(4)})`);
    }
  } finally {
    if (best) tf.dispose(best.weights);
    optimizer.dispose();
    await parallel?.close();
  }
  const seconds = (Date.now() - started) / 1000;
  cb.onPhaseEnd?.({ phase: options.phase, records, stopReason, seconds });
  return { records, stopReason, message, restoredEpoch, seconds };
}
