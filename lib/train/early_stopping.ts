/** Early stopping on the validation loss, with the best epoch's weights kept to put back (Keras' EarlyStopping). */
import type * as tf from '@tensorflow/tfjs';
import { WeightSnapshot } from './snapshot';

export interface EarlyStoppingOptions {
  /** Epochs without an improvement of the validation loss before stopping. Default 3. */
  patience?: number;
  /** Smallest decrease of the validation loss that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Put back the weights of the epoch with the best validation loss when training ends. Default true. */
  restoreBestWeights?: boolean;
}

export const EARLY_STOPPING_DEFAULTS: Required<EarlyStoppingOptions> = { patience: 3, minDelta: 0, restoreBestWeights: true };

/** Watches one training run's validation losses. Owns a copy of the best weights until `dispose`. */
export class EarlyStopping {
  readonly options: Required<EarlyStoppingOptions>;
  private best: { loss: number; epoch: number } | undefined;
  private sinceBest = 0;
  private readonly weights: WeightSnapshot;

  /** `vars`: the variables whose best values are kept (and put back by `restoreBest`). */
  constructor(vars: tf.Variable[], options: EarlyStoppingOptions = {}) {
    this.options = { ...EARLY_STOPPING_DEFAULTS, ...options };
    this.weights = new WeightSnapshot(vars);
  }

  /** After an epoch: records `valLoss`; returns why training should stop now, or undefined to go on. */
  update(epoch: number, valLoss: number): string | undefined {
    if (!this.best || valLoss < this.best.loss - this.options.minDelta) {
      this.best = { loss: valLoss, epoch };
      this.sinceBest = 0;
      if (this.options.restoreBestWeights) this.weights.take(epoch);
      return undefined;
    }
    if (++this.sinceBest < this.options.patience) return undefined;
    return `early stopping at epoch ${epoch}: val_loss did not improve for ${this.options.patience} epochs (best ${this.best.loss.toFixed(4)} at epoch ${this.best.epoch})`;
  }

  /**
   * Puts back the best epoch's weights when restoring is on and `lastEpoch` (the epoch the weights are from now) was
   * not the best. Returns the epoch restored and a line for people, or undefined when nothing changed.
   */
  restoreBest(lastEpoch: number | undefined): { epoch: number; message: string } | undefined {
    if (!this.best || !this.options.restoreBestWeights || this.best.epoch === lastEpoch) return undefined;
    this.weights.restore();
    return { epoch: this.best.epoch, message: `restored the weights of epoch ${this.best.epoch} (best val_loss ${this.best.loss.toFixed(4)})` };
  }

  dispose(): void {
    this.weights.dispose();
  }
}
