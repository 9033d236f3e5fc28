/** A kept copy of some variables' values, to put back later (last good weights, best weights). */
import * as tf from '@tensorflow/tfjs';

export class WeightSnapshot {
  private copies: tf.Tensor[] = [];
  private taken: number | undefined;

  /** `vars` stay their owner's; the copies are this snapshot's until `dispose`. */
  constructor(private readonly vars: tf.Variable[]) {}

  /** The label given to the last `take` (an epoch number), or undefined before the first. */
  get epoch(): number | undefined {
    return this.taken;
  }

  /** Copies the variables' current values, replacing the previous copy. */
  take(epoch: number): void {
    const copies = this.vars.map((v) => tf.keep(v.clone()));
    tf.dispose(this.copies);
    this.copies = copies;
    this.taken = epoch;
  }

  /** Puts the copied values back into the variables. */
  restore(): void {
    if (this.taken === undefined) throw new Error('WeightSnapshot.restore: nothing was taken');
    this.vars.forEach((v, i) => v.assign(this.copies[i]));
  }

  dispose(): void {
    tf.dispose(this.copies);
    this.copies = [];
    this.taken = undefined;
  }
}
