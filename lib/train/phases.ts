/**
 * The two phases of transfer learning, on cached activations.
 *
 * Phase 1 (`trainHead`): the base is frozen, so everything up to the global average pooling (`head_pool`,
 * parameter-free) is a fixed function; its outputs (one vector per image) are computed once and the head
 * (Dropout + Dense) is trained on them.
 * Phase 2 (`fineTune`): blocks from `from` up are unfrozen; the frozen prefix ends at the previous block's
 * output, whose activations are computed once; only the suffix (unfrozen blocks + head) runs per step.
 * BatchNormalization stays in inference mode in both phases (lib/model's guards), which is what makes the
 * frozen part a fixed function and the cache exact.
 *
 * `path: 'plain'` runs the same phase the way the Keras tutorial does (the whole model on pixels every
 * step, same batches, same dropout masks): for benchmarks and the exactness test.
 */
import * as tf from '@tensorflow/tfjs';
import { cutModelAt } from '../model/cut';
import { freezeBase, HEAD_LAYERS, unfreezeFrom, resolveBlock } from '../model/surgery';
import { derivedSeed } from '../util/random';
import { FeatureBatchSource, PixelBatchSource, type BatchSource } from './batches';
import { EARLY_STOPPING_DEFAULTS, type EarlyStoppingOptions } from './early_stopping';
import { fitOnSource, type FitResult } from './loop';
import { DEFAULT_OPTIMIZER, type OptimizerName } from './optimizer';
import { DEFAULT_LABEL_SMOOTHING } from './loss';
import type { TrainingCallbacks } from './progress';
import { DEFAULT_SCHEDULE, type LrSchedule } from './schedule';
import type { TrainingSession } from './session';
import type { PixelInput, TrainingPhase } from './types';

/** Options shared by both phases. */
export interface PhaseOptions {
  /** Epochs. Defaults: `HEAD_DEFAULTS`, `FINE_TUNE_DEFAULTS`. */
  epochs?: number;
  /** Learning rate. Defaults: head `HEAD_DEFAULTS`; fine-tune `FINE_TUNE_DEFAULTS.lrFactor` times the head's. */
  learningRate?: number;
  /** Images per step. Default `PHASE_DEFAULTS` (the tutorial's 32). */
  batchSize?: number;
  /** Default `DEFAULT_OPTIMIZER` (./optimizer.ts). */
  optimizer?: OptimizerName;
  /** Early stopping on the validation loss, best weights restored. Default `EARLY_STOPPING_DEFAULTS`; false: off. */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Label smoothing of the training loss (Keras' `label_smoothing`), in [0, 1). Default `DEFAULT_LABEL_SMOOTHING` (./loss.ts). */
  labelSmoothing?: number;
  /** Default constant. */
  schedule?: LrSchedule;
  /** Progress hooks for this run. Default: the session's. */
  callbacks?: TrainingCallbacks;
  /** 'cached' (default) or 'plain' (the whole model on pixels every step; for benchmarks and tests). */
  path?: 'cached' | 'plain';
  /** Threads each step's batch is split across (gradients averaged, one optimizer step); 1 = off. Default: `defaultTrainWorkers(model)` (lib/train/parallel.ts). */
  trainWorkers?: number;
}

export interface FineTuneOptions extends PhaseOptions {
  /** First block to unfreeze (block name, layer name, block index or { fraction }). Default `FINE_TUNE_DEFAULTS.from`. */
  from?: string | number | { fraction: number };
}

/** The options a phase ran with, its defaults filled in (what a run record keeps). */
export interface UsedPhaseOptions {
  epochs: number;
  learningRate: number;
  batchSize: number;
  optimizer: OptimizerName;
  earlyStopping: EarlyStoppingOptions | false;
  schedule: LrSchedule;
  labelSmoothing: number;
  /** Undefined: `defaultTrainWorkers` decided (lib/train/parallel.ts). */
  trainWorkers?: number;
  path: 'cached' | 'plain';
  /** Fine-tuning only: the first unfrozen block. */
  from?: string;
}

export interface PhaseResult extends FitResult {
  phase: TrainingPhase;
  /** The options it ran with. */
  options: UsedPhaseOptions;
  /** Seconds spent getting activations (0 when all were cached) and training. */
  featureSeconds: number;
  trainSeconds: number;
  /** Layer whose output was cached ('head_pool' for the head, the boundary block's output for fine-tuning). */
  cut: string;
  /** Fine-tuning only: the first unfrozen block and the layers with trainable weights. */
  fromBlock?: string;
  trainableLayers?: string[];
  /** Activation entries taken from memory or disk, or computed, during this call. */
  cache: { memoryHits: number; diskHits: number; computed: number };
}

/** Defaults of both phases: the tutorial's batch of 32. */
export const PHASE_DEFAULTS = { batchSize: 32 } as const;
/**
 * Head training: the Keras guide's Adam rate; 30 epochs because an epoch on cached activations is cheap and the
 * head is still improving after the guide's 10 (early stopping ends it sooner).
 */
export const HEAD_DEFAULTS = { epochs: 30, learningRate: 1e-3 } as const;
/**
 * Fine-tuning: from `block_11` (the tutorial's fine_tune_at = 100) at 0.3 x the head's rate, 6 epochs: with the
 * cosine schedule this generalised better to held-out hands than the tutorial's tenth for 10 epochs, in less
 * time (README "Generalization").
 */
export const FINE_TUNE_DEFAULTS = { from: 'block_11', epochs: 6, lrFactor: 0.3 } as const;

function cacheDelta(session: TrainingSession, before: ReturnType<TrainingSession['store']['getStats']>) {
  const now = session.store.getStats();
  return { memoryHits: now.memoryHits - before.memoryHits, diskHits: now.diskHits - before.diskHits, computed: now.computed - before.computed };
}

/** The pixel views the plain path trains on: the augmented views, or the clean images. */
function pixelViews(session: TrainingSession): PixelInput[] {
  if (!session.augment) return [session.train];
  return Array.from({ length: session.augmentViews }, (_, v) => session.augmentedTrainPixels(v + 1));
}

interface Prepared {
  model: tf.LayersModel;
  train: BatchSource;
  validation?: BatchSource;
  cleanup: () => void;
}

/** Sources and the model to train for a cut: the suffix on cached activations, or the whole classifier on pixels. */
async function prepare(session: TrainingSession, cut: string, path: 'cached' | 'plain'): Promise<Prepared> {
  if (path === 'plain') {
    return {
      model: session.classifier,
      train: new PixelBatchSource(pixelViews(session), session.base.spec.pixelRange, session.seed),
      validation: session.valIndices.length ? new PixelBatchSource(session.train, session.base.spec.pixelRange, session.seed) : undefined,
      cleanup: () => undefined,
    };
  }
  const views = await session.featureViews(cut);
  const { prefix, suffix } = cutModelAt(session.classifier, cut);
  prefix.dispose();
  return {
    model: suffix,
    train: new FeatureBatchSource(views.train, session.seed),
    validation: session.valIndices.length ? new FeatureBatchSource(views.clean, session.seed) : undefined,
    cleanup: () => suffix.dispose(),
  };
}

async function runPhase(
  session: TrainingSession,
  phase: TrainingPhase,
  cut: string,
  options: PhaseOptions,
  defaults: { epochs: number; learningRate: number },
  firstEpoch: number,
): Promise<PhaseResult> {
  const used: UsedPhaseOptions = {
    epochs: options.epochs ?? defaults.epochs,
    learningRate: options.learningRate ?? defaults.learningRate,
    batchSize: options.batchSize ?? PHASE_DEFAULTS.batchSize,
    optimizer: options.optimizer ?? DEFAULT_OPTIMIZER,
    earlyStopping: options.earlyStopping === undefined ? { ...EARLY_STOPPING_DEFAULTS } : options.earlyStopping,
    labelSmoothing: options.labelSmoothing ?? DEFAULT_LABEL_SMOOTHING,
    schedule: options.schedule ?? DEFAULT_SCHEDULE,
    trainWorkers: options.trainWorkers,
    path: options.path ?? 'cached',
  };
  const statsBefore = session.store.getStats();
  const t0 = Date.now();
  const prepared = await prepare(session, cut, used.path);
  const featureSeconds = (Date.now() - t0) / 1000;
  try {
    const { path: _path, ...fit } = used;
    const result = await fitOnSource(
      prepared.model,
      { source: prepared.train, indices: session.trainIndices },
      {
        ...fit,
        phase,
        seed: derivedSeed(session.seed, phase),
        firstEpoch,
        validation: prepared.validation ? { source: prepared.validation, indices: session.valIndices } : undefined,
        callbacks: options.callbacks ?? session.callbacks,
      },
    );
    return { ...result, phase, options: used, featureSeconds, trainSeconds: result.seconds, cut, cache: cacheDelta(session, statsBefore) };
  } finally {
    prepared.cleanup();
  }
}

/**
 * Phase 1: freezes the whole base and trains the head on the cached `head_pool` activations. Starts from
 * the classifier's weights at session creation each time it runs; replaces the session's history.
 */
export async function trainHead(session: TrainingSession, options: PhaseOptions = {}): Promise<PhaseResult> {
  session.startHead();
  freezeBase(session.classifier, session.base);
  const lr = options.learningRate ?? HEAD_DEFAULTS.learningRate;
  const result = await runPhase(session, 'head', HEAD_LAYERS.pool, { ...options, learningRate: lr }, HEAD_DEFAULTS, 1);
  session.completeHead(result.records, lr);
  await session.phaseEnded(result);
  return result;
}

/**
 * The layer that ends the frozen prefix when fine-tuning `session`'s base (or any `{ base }`) from `from`: the
 * previous block's output.
 */
export function fineTuneBoundary(session: Pick<TrainingSession, 'base'>, from: FineTuneOptions['from'] = FINE_TUNE_DEFAULTS.from): { block: string; boundary: string } {
  const block = resolveBlock(session.base, from);
  const pos = session.base.spec.blocks.findIndex((b) => b.name === block.name);
  if (pos <= 0) {
    throw new Error(`fineTune: from '${String(block.name)}' unfreezes the whole base, so nothing frozen is left to cache; start at block 1 or later`);
  }
  return { block: block.name, boundary: session.base.spec.blocks[pos - 1].output };
}

/**
 * Phase 2: starts from the weights head training ended with, unfreezes blocks from `from` up (BN stays in
 * inference mode), and trains them and the head on the cached activations at the block boundary. Epoch
 * numbers continue head training's; the session's history holds both phases.
 */
export async function fineTune(session: TrainingSession, options: FineTuneOptions = {}): Promise<PhaseResult> {
  const { block, boundary } = fineTuneBoundary(session, options.from);
  const headRecords = session.startFineTune();
  const { fromBlock, trainableLayers } = unfreezeFrom(session.classifier, session.base, { from: block });
  const lr = options.learningRate ?? fineTuneLearningRate(session.headLearningRate ?? HEAD_DEFAULTS.learningRate);
  const firstEpoch = (headRecords[headRecords.length - 1]?.epoch ?? 0) + 1;
  const result = await runPhase(session, 'fine-tune', boundary, { ...options, learningRate: lr }, { epochs: FINE_TUNE_DEFAULTS.epochs, learningRate: lr }, firstEpoch);
  session.completeFineTune(result.records, firstEpoch, boundary, fromBlock.name);
  const done = { ...result, options: { ...result.options, from: fromBlock.name }, fromBlock: fromBlock.name, trainableLayers };
  await session.phaseEnded(done);
  return done;
}

/** Fine-tuning's default learning rate for a head trained at `headLearningRate` (the Keras guide's rule: much lower). */
export function fineTuneLearningRate(headLearningRate: number): number {
  return headLearningRate * FINE_TUNE_DEFAULTS.lrFactor;
}
