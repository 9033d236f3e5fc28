/**
 * The guarded apply step: a step's gradients are applied only when the loss and every gradient are finite, and an
 * update that makes a weight non-finite (a far too high learning rate) is reported so the caller can put back its
 * last good weights (./snapshot.ts). One scalar read per check: a NaN or Inf anywhere propagates into a sum.
 */
import * as tf from '@tensorflow/tfjs';
import type { StepTensors } from './step';

/** What went wrong in a refused or failed step. */
export type StepFailure = { kind: 'loss' | 'gradient' | 'weights'; what: string };

/** A step's outcome: its loss and hits when applied, else the failure (`applied` says whether the weights changed). */
export type GuardedStep = { ok: true; loss: number; hits: number } | { ok: false; applied: boolean; failure: StepFailure };

/**
 * Applies `step.grads` with `optimizer` when the loss and all gradients are finite, then checks that `vars` still
 * are. Disposes the step's tensors. On a `weights` failure the update has been applied: the caller must put back
 * good weights.
 */
export async function guardedApply(optimizer: tf.Optimizer, vars: tf.Variable[], step: StepTensors): Promise<GuardedStep> {
  const { value, hits, grads } = step;
  const check = tf.tidy(() => tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]));
  const [lossV, checkV, hitsV] = await Promise.all([value.data(), check.data(), hits.data()]);
  tf.dispose([check, value, hits]);
  if (!Number.isFinite(lossV[0]) || !Number.isFinite(checkV[0])) {
    tf.dispose(grads);
    const failure: StepFailure = Number.isFinite(lossV[0])
      ? { kind: 'gradient', what: 'a gradient became non-finite (NaN or Inf)' }
      : { kind: 'loss', what: `the loss became ${lossV[0]}` };
    return { ok: false, applied: false, failure };
  }
  optimizer.applyGradients(grads);
  tf.dispose(grads);
  const weightCheck = tf.tidy(() => tf.addN(vars.map((v) => tf.sum(v))));
  const weightsFinite = Number.isFinite((await weightCheck.data())[0]);
  weightCheck.dispose();
  if (!weightsFinite) return { ok: false, applied: true, failure: { kind: 'weights', what: 'the update made the weights non-finite (NaN or Inf)' } };
  return { ok: true, loss: lossV[0], hits: hitsV[0] };
}
