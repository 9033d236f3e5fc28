/**
 * The guarded apply step. A step's gradients are applied only when the model's outputs on the batch, the loss and
 * every gradient are finite: non-finite outputs mean the weights the step started from are already bad. An update
 * that makes a weight non-finite (a far too high learning rate) is reported after it is applied. Either way the
 * caller puts back the last weights verified good (./snapshot.ts). Each check is one scalar read (./finite.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { allFiniteCheck } from './finite';
import { disposeStep, type StepTensors } from './step';

/** What went wrong in a refused or failed step, phrased for people in `what`. */
export type StepFailure = { kind: 'outputs' | 'loss' | 'gradient' | 'weights'; what: string };

/**
 * A step's outcome: its loss and hits when applied, else the failure. (A string discriminant: tslab compiles
 * without strictNullChecks, where `ok: true | false` would not narrow.)
 */
export type GuardedStep = { outcome: 'applied'; loss: number; hits: number } | { outcome: 'failed'; failure: StepFailure };

/**
 * Applies `step.grads` with `optimizer` when the outputs, the loss and all gradients are finite, then checks that
 * `vars` still are. Disposes the step's tensors.
 */
export async function guardedApply(optimizer: tf.Optimizer, vars: tf.Variable[], step: StepTensors): Promise<GuardedStep> {
  const gradCheck = allFiniteCheck(Object.values(step.grads));
  const [lossV, outV, gradV, hitsV] = await Promise.all([step.value.data(), step.outputCheck.data(), gradCheck.data(), step.hits.data()]);
  gradCheck.dispose();
  const refused = (kind: StepFailure['kind'], what: string): GuardedStep => {
    disposeStep(step);
    return { outcome: 'failed', failure: { kind, what } };
  };
  if (!Number.isFinite(outV[0])) return refused('outputs', "the model's outputs became non-finite (NaN or Inf)");
  if (!Number.isFinite(lossV[0])) return refused('loss', `the loss became ${lossV[0]}`);
  if (!Number.isFinite(gradV[0])) return refused('gradient', 'a gradient became non-finite (NaN or Inf)');
  optimizer.applyGradients(step.grads);
  disposeStep(step);
  const weightCheck = allFiniteCheck(vars);
  const weightsFinite = Number.isFinite((await weightCheck.data())[0]);
  weightCheck.dispose();
  if (!weightsFinite) return { outcome: 'failed', failure: { kind: 'weights', what: 'the update made the weights non-finite (NaN or Inf)' } };
  return { outcome: 'applied', loss: lossV[0], hits: hitsV[0] };
}
