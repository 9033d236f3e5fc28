/**
 * Keras semantics for BatchNormalization in tfjs.
 *
 * tfjs-layers picks BN's mode only from the `training` flag that `fit` passes down (tfjs issue #7250): a
 * layer with `trainable = false` still normalises with batch statistics and overwrites its moving mean and
 * variance. Keras instead runs a frozen BN layer in inference mode, and the fine-tuning recipe keeps it in
 * inference mode after unfreezing too. This module wraps the `call` of each guarded BN layer *instance* so
 * that it sees `training: false` unless the layer is trainable AND batch-norm training was explicitly
 * allowed. The wrapper lives on the instance only: the layer's class and config stay the standard Keras
 * `BatchNormalization`, so saved models are plain Keras layers (re-guarded by `loadClassifier`).
 */
import * as tf from '@tensorflow/tfjs';

type Layer = tf.layers.Layer;
type CallFn = Layer['call'];

interface Guard {
  /** Batch statistics may be used (and moving statistics updated) when the layer is also trainable. */
  allowTraining: boolean;
}

const guards = new WeakMap<Layer, Guard>();

export function isBatchNorm(layer: Layer): boolean {
  return layer.getClassName() === 'BatchNormalization';
}

/**
 * Installs (once) the inference-mode guard on a BatchNormalization layer and sets whether it may train.
 * Non-BN layers are ignored.
 */
export function guardBatchNorm(layer: Layer, allowTraining = false): void {
  if (!isBatchNorm(layer)) return;
  const existing = guards.get(layer);
  if (existing) {
    existing.allowTraining = allowTraining;
    return;
  }
  const guard: Guard = { allowTraining };
  guards.set(layer, guard);
  const original: CallFn = layer.call.bind(layer);
  const guarded: CallFn = (inputs, kwargs) => {
    const training = guard.allowTraining && layer.trainable ? kwargs?.training : false;
    return original(inputs, { ...kwargs, training });
  };
  (layer as { call: CallFn }).call = guarded;
}

/** Whether a guarded BN layer may use batch statistics when trainable (`guardBatchNorm`'s flag); undefined when unguarded or not BN. */
export function batchNormTrainingAllowed(layer: Layer): boolean | undefined {
  return guards.get(layer)?.allowTraining;
}

/** Guards every BN layer of `model`; `allowTraining(layer)` decides per layer (default: none may train). */
export function guardAllBatchNorm(model: tf.LayersModel, allowTraining: (layer: Layer) => boolean = () => false): void {
  for (const layer of model.layers) guardBatchNorm(layer, allowTraining(layer));
}

/**
 * The BN mode a layer will run in during `fit`: `'inference'` (moving statistics, never updated),
 * `'training'` (batch statistics, moving statistics updated) or `'unguarded'` (tfjs default: follows
 * `fit`'s flag whatever `trainable` says). Undefined for non-BN layers.
 */
export function batchNormMode(layer: Layer): 'inference' | 'training' | 'unguarded' | undefined {
  if (!isBatchNorm(layer)) return undefined;
  const guard = guards.get(layer);
  if (!guard) return 'unguarded';
  return guard.allowTraining && layer.trainable ? 'training' : 'inference';
}
