/**
 * The training loop, written out instead of `model.fit` so that the batch order, the dropout masks and the
 * set of updated variables are ours: the cached path (suffix on stored activations) and the plain path
 * (whole model on pixels) then take bit-for-bit the same steps, up to float rounding in the frozen prefix.
 *
 * Per epoch: the batch order from a seeded shuffle; per batch one step (./step.ts: 1 part or split across
 * threads, seeded dropout masks), applied only when the outputs, loss and gradients are finite (./guard.ts); then
 * the validation pass (or a probe batch), which verifies the weights: the model's outputs on real inputs must be
 * finite; early stopping (./early_stopping.ts); and a copy of the verified weights (./snapshot.ts), which any
 * later failure puts back.
 */
import * as tf from '@tensorflow/tfjs';
import { trainableVariables } from '../model/layers';
import { createRng, derivedSeed } from '../util/random';
import type { BatchSource } from './batches';
import { EarlyStopping, type EarlyStoppingOptions } from './early_stopping';
import { finiteCheck } from './finite';
import { guardedApply } from './guard';
import { checkLabelSmoothing, crossEntropyLoss, DEFAULT_LABEL_SMOOTHING } from './loss';
import { DEFAULT_OPTIMIZER, makeOptimizer, setLearningRate, type OptimizerName } from './optimizer';
import type { TrainingCallbacks } from './progress';
import { DEFAULT_SCHEDULE, scheduledLearningRate, type LrSchedule } from './schedule';
import { WeightSnapshot } from './snapshot';
import { resolveParts, StepRunner } from './step';
import type { EpochRecord, StopReason, TrainingPhase } from './types';

// phases.ts and pipeline.ts import these two from here.

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
  /** Default `DEFAULT_OPTIMIZER` ('adam'). RMSprop as in the Keras fine-tuning tutorial is 'rmsprop'. */
  optimizer?: OptimizerName;
  /** Seeds the batch order, the augmented-view choice and the dropout masks. */
  seed: number;
  /**
   * Label smoothing in [0, 1) of the training loss, as Keras' `CategoricalCrossentropy(label_smoothing)`: targets
   * `oneHot * (1 - a) + a / classes`. The reported training loss is the smoothed one (as Keras reports it); the
   * validation loss stays plain cross-entropy. Default `DEFAULT_LABEL_SMOOTHING` (0: off).
   */
  labelSmoothing?: number;
  /** Number of the first epoch in the history (fine-tuning continues head training's numbering). Default 1. */
  firstEpoch?: number;
  /** Validation samples, evaluated at the end of every epoch without dropout or augmentation. */
  validation?: SourceSubset;
  /** Early stopping on the validation loss (defaults: `EARLY_STOPPING_DEFAULTS`). Default: off. */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Learning-rate schedule over this call's epochs. Default `DEFAULT_SCHEDULE`. */
  schedule?: LrSchedule;
  callbacks?: TrainingCallbacks;
  /**
   * Threads each step's batch is split across (this one + trainWorkers-1 worker threads, gradients averaged,
   * one optimizer step; lib/train/step.ts). 1 = off. Default `defaultTrainWorkers(model)`: 2 on wasm and cpu
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
  /**
   * Epoch (history numbering) whose end-of-epoch weights the model holds when the call returns: the last epoch, the
   * restored best one, or after a failure the last one verified good; `firstEpoch - 1` means the weights the
   * model was given.
   */
  weightsEpoch: number;
  seconds: number;
}

/** Training samples whose outputs verify the weights at an epoch's end when there is no validation split. */
export const PROBE_SAMPLES = 32;

function checkPositiveInt(value: number, name: string): void {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${name}: expected an integer >= 1, got ${value}`);
}

/**
 * Mean loss (plain cross-entropy) and accuracy of `model` on a subset, in inference mode, `batchSize` at a time,
 * and whether every output was finite (the loss clips the probabilities, so a finite loss does not say that).
 */
export async function evaluateOnSource(
  model: tf.LayersModel,
  subset: SourceSubset,
  numClasses: number,
  batchSize = 64,
): Promise<{ loss: number; accuracy: number; finite: boolean }> {
  const indices = subset.indices ?? Array.from({ length: subset.source.count }, (_, i) => i);
  if (!indices.length) throw new Error('evaluateOnSource: no samples');
  let lossSum = 0;
  let correct = 0;
  let finite = true;
  for (let s = 0; s < indices.length; s += batchSize) {
    const idx = indices.slice(s, s + batchSize);
    const checks = tf.tidy(() => {
      const x = subset.source.batch(idx, 0);
      const y = tf.tensor1d(idx.map((i) => subset.source.labels[i]), 'int32');
      const p = model.apply(x, { training: false }) as tf.Tensor;
      const loss = tf.mul(crossEntropyLoss(p, y, numClasses), idx.length);
      const hits = tf.sum(tf.equal(tf.argMax(p, -1).toInt(), y).toInt());
      return [loss, hits, finiteCheck(p)];
    });
    const [lv, cv, fv] = await Promise.all(checks.map((t) => t.data()));
    tf.dispose(checks);
    lossSum += lv[0];
    correct += cv[0];
    finite &&= Number.isFinite(fv[0]);
  }
  return { loss: lossSum / indices.length, accuracy: correct / indices.length, finite };
}

/**
 * Whether every output of `model` on the subset is finite, in inference mode, `batchSize` samples at a time: the
 * check a trained model should pass before it is saved or used. The model must output class probabilities.
 */
export async function outputsFinite(model: tf.LayersModel, subset: SourceSubset, batchSize = 64): Promise<boolean> {
  const outShape = model.outputs[0].shape;
  return (await evaluateOnSource(model, subset, outShape[outShape.length - 1] as number, batchSize)).finite;
}

/**
 * Trains the trainable variables of `model` on `train`. The model must output class probabilities
 * (softmax). Layers that must stay in inference mode (BatchNormalization of a base) must already be set
 * so (lib/model's freeze/unfreeze do this); the model is called with `training: true` so Dropout is active.
 *
 * Weights count as good when the model's outputs on real inputs are finite: at the end of each epoch, on the
 * validation samples (or, without a validation split, on the first `PROBE_SAMPLES` training samples). When a
 * step's outputs, loss or a gradient are not finite (the step is not applied), an update makes a weight
 * non-finite, or an epoch's weights fail that check, training stops with `stopReason: 'non-finite-loss'` and the
 * model gets back the weights of the last epoch verified good (or the weights it was given, when the failure came
 * in the first epoch); `weightsEpoch` and the message say which. The failed epoch's record (when a step of it
 * finished) has the training loss of its finished steps and no validation values. Best weights are not restored
 * after a failure.
 * Tensors: everything created here is disposed; the model's weights are updated in place.
 */
export async function fitOnSource(model: tf.LayersModel, train: SourceSubset, options: FitOptions): Promise<FitResult> {
  checkPositiveInt(options.epochs, 'epochs');
  checkPositiveInt(options.batchSize, 'batchSize');
  if (!(options.learningRate > 0 && Number.isFinite(options.learningRate))) {
    throw new Error(`learningRate: expected a positive number, got ${options.learningRate}`);
  }
  const labelSmoothing = options.labelSmoothing ?? DEFAULT_LABEL_SMOOTHING;
  checkLabelSmoothing(labelSmoothing);
  const started = Date.now();
  const cb = options.callbacks ?? {};
  const firstEpoch = options.firstEpoch ?? 1;
  const outShape = model.outputs[0].shape;
  const numClasses = outShape[outShape.length - 1] as number;
  const trainIdx = train.indices ? [...train.indices] : Array.from({ length: train.source.count }, (_, i) => i);
  if (!trainIdx.length) throw new Error('fitOnSource: no training samples');
  const vars = trainableVariables(model);
  if (!vars.length) throw new Error('fitOnSource: the model has no trainable weights (is everything frozen?)');
  const batches = Math.ceil(trainIdx.length / options.batchSize);
  if (options.earlyStopping && !options.validation) cb.onMessage?.('early stopping needs a validation split; it is off for this run');

  const parts = resolveParts(model, options.trainWorkers, (why) => cb.onMessage?.(`${options.phase}: training in one thread: ${why}`));
  const optimizer = makeOptimizer(options.optimizer ?? DEFAULT_OPTIMIZER, options.learningRate);
  const earlyStopping = options.earlyStopping && options.validation ? new EarlyStopping(vars, options.earlyStopping) : undefined;
  const lastGood = new WeightSnapshot(vars);
  const verifyOn: SourceSubset = options.validation ?? { source: train.source, indices: trainIdx.slice(0, PROBE_SAMPLES) };
  const verifiedWhere = options.validation ? 'the validation samples' : 'a probe batch of training samples';
  // The first step's outputs show whether the weights the model was given are good.
  let startVerified = false;
  let runner: StepRunner | undefined;
  const records: EpochRecord[] = [];
  let stopReason: StopReason = 'completed';
  let message: string | undefined;
  let restoredEpoch: number | undefined;
  let weightsEpoch = firstEpoch - 1;
  let batchesDone = 0;
  const totalBatches = batches * options.epochs;
  cb.onPhaseStart?.({ phase: options.phase, epochs: options.epochs, batches, samples: trainIdx.length, firstEpoch });
  /** Stops training after a non-finite step or check, putting back the last weights verified good. */
  const fail = (what: string) => {
    lastGood.restore();
    const held =
      lastGood.epoch! >= firstEpoch
        ? `those of epoch ${lastGood.epoch}, the last whose outputs on ${verifiedWhere} were finite`
        : `the weights it started with${startVerified ? '' : ' (which gave non-finite outputs too)'}`;
    stopReason = 'non-finite-loss';
    message =
      `${options.phase}: ${what}; training stopped and the model keeps the last good weights: ${held} ` +
      `(try a lower learning rate, or check the data for NaN/Inf)`;
    cb.onMessage?.(message);
  };

  try {
    runner = await StepRunner.open(model, vars, { parts, numClasses, seed: options.seed, labelSmoothing });
    lastGood.take(firstEpoch - 1);
    for (let e = 0; e < options.epochs && stopReason === 'completed'; e++) {
      const epoch = firstEpoch + e;
      const epochStart = Date.now();
      const lr = scheduledLearningRate(options.learningRate, e, options.epochs, options.schedule ?? DEFAULT_SCHEDULE);
      setLearningRate(optimizer, lr);
      const order = createRng(derivedSeed(options.seed, `order:${epoch}`)).shuffled(trainIdx);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        const idx = order.slice(b * options.batchSize, (b + 1) * options.batchSize);
        const step = await guardedApply(optimizer, vars, await runner.step(train.source, idx, epoch, b));
        if (step.outcome === 'failed') {
          startVerified ||= step.failure.kind !== 'outputs';
          fail(`${step.failure.what} at epoch ${epoch}, batch ${b + 1}`);
          break;
        }
        startVerified = true;
        lossSum += step.loss * idx.length;
        correct += step.hits;
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
      if (stopReason === 'completed') {
        const v = await evaluateOnSource(model, verifyOn, numClasses, Math.max(options.batchSize, 64));
        if (!v.finite) {
          fail(`the model's outputs on ${verifiedWhere} became non-finite (NaN or Inf) after epoch ${epoch}`);
        } else if (options.validation) {
          record.valLoss = v.loss;
          record.valAccuracy = v.accuracy;
        }
      }
      record.seconds = (Date.now() - epochStart) / 1000;
      records.push(record);
      const elapsed = (Date.now() - started) / 1000;
      cb.onEpochEnd?.(record, { phaseEpochs: options.epochs, etaSeconds: (elapsed / (e + 1)) * (options.epochs - e - 1) });
      if (stopReason !== 'completed') break;
      const stop = earlyStopping && record.valLoss !== undefined ? earlyStopping.update(epoch, record.valLoss) : undefined;
      if (stop) {
        stopReason = 'early-stopping';
        message = `${options.phase}: ${stop}`;
        cb.onMessage?.(message);
      } else if (e + 1 < options.epochs) {
        lastGood.take(epoch);
      }
    }
    const failed = (stopReason as StopReason) === 'non-finite-loss';
    const lastEpoch = records[records.length - 1]?.epoch;
    weightsEpoch = failed ? lastGood.epoch! : (lastEpoch ?? firstEpoch - 1);
    const restored = failed ? undefined : earlyStopping?.restoreBest(lastEpoch);
    if (restored) {
      restoredEpoch = weightsEpoch = restored.epoch;
      cb.onMessage?.(`${options.phase}: ${restored.message}`);
    }
  } finally {
    earlyStopping?.dispose();
    lastGood.dispose();
    optimizer.dispose();
    await runner?.close();
  }
  const seconds = (Date.now() - started) / 1000;
  cb.onPhaseEnd?.({ phase: options.phase, records, stopReason, seconds });
  return { records, stopReason, message, restoredEpoch, weightsEpoch, seconds };
}
