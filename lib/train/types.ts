/** Shapes shared by the training code: histories, progress events, and the inputs the phases need. */
import type { PixelSet } from '../data/pixels';

/** Which phase an epoch belongs to. */
export type TrainingPhase = 'head' | 'fine-tune';

/** One epoch of training, as a chart or a metrics file shows it. */
export interface EpochRecord {
  /** 1-based and continuous across phases: fine-tuning continues the numbering of head training. */
  epoch: number;
  phase: TrainingPhase;
  /** Mean training loss (categorical cross-entropy, label-smoothed when the run smooths) over the epoch's batches. */
  loss: number;
  /** Training accuracy over the epoch (with dropout and augmentation on, as Keras reports it). */
  accuracy: number;
  /** Loss on the validation split, without dropout or augmentation. Absent when there is no validation split. */
  valLoss?: number;
  valAccuracy?: number;
  /** Learning rate used in this epoch. */
  lr: number;
  /** Wall-clock seconds of the epoch, validation included. */
  seconds: number;
}

/** Both phases in one list, so that one chart shows them with a marker where fine-tuning began. */
export interface TrainingHistory {
  records: EpochRecord[];
  /** Epoch number of the first fine-tuning epoch; null until fine-tuning ran. */
  fineTuneStartEpoch: number | null;
}

/** Why a call to the training loop ended. */
export type StopReason = 'completed' | 'early-stopping' | 'non-finite-loss';

/** What the progress hooks receive after every batch. */
export interface BatchProgress {
  phase: TrainingPhase;
  /** Epoch number as in the history (continuous across phases). */
  epoch: number;
  /** Epoch index within this phase, 1-based, and the phase's epoch count. */
  phaseEpoch: number;
  phaseEpochs: number;
  /** Batches done in this epoch and batches per epoch. */
  batch: number;
  batches: number;
  /** Running mean loss and accuracy of this epoch so far. */
  loss: number;
  accuracy: number;
  /** Seconds since the phase started, and an estimate of the seconds left in the phase. */
  elapsedSeconds: number;
  etaSeconds: number;
}

/**
 * The decoded, resized images the training functions read. Structurally the `PixelSet` of lib/data:
 * `count` RGB images of `size`x`size`, row-major uint8, with labels and a content key.
 */
export type PixelInput = Pick<PixelSet, 'size' | 'count' | 'pixels' | 'labels' | 'classes' | 'files' | 'key'>;

