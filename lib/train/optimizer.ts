/** The optimizers a training run can use, by name (options, flags and saved records carry the name). */
import * as tf from '@tensorflow/tfjs';

/** The optimizer names. RMSprop is the Keras fine-tuning tutorial's. */
export const OPTIMIZERS = ['adam', 'rmsprop', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
/** The optimizer when none is named. */
export const DEFAULT_OPTIMIZER: OptimizerName = 'adam';

/** Throws naming `param` unless `value` is one of `OPTIMIZERS`. */
export function checkOptimizerName(value: unknown, param = 'optimizer'): asserts value is OptimizerName {
  if (!(OPTIMIZERS as readonly unknown[]).includes(value)) {
    throw new Error(`${param}: expected ${OPTIMIZERS.join(', ')}, got '${String(value)}'`);
  }
}

/** A new optimizer at learning rate `lr`, with tfjs' defaults for everything else. The caller owns (disposes) it. */
export function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  checkOptimizerName(name);
  const make: Record<OptimizerName, (lr: number) => tf.Optimizer> = {
    adam: (r) => tf.train.adam(r),
    rmsprop: (r) => tf.train.rmsprop(r),
    sgd: (r) => tf.train.sgd(r),
  };
  return make[name](lr);
}

/**
 * Changes the learning rate of an optimizer made by `makeOptimizer`. Adam and RMSprop read their `learningRate`
 * field at every step; SGD keeps its own scalar, which only its `setLearningRate` replaces.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // Not `instanceof tf.SGDOptimizer`: tfjs answers instanceof for optimizers by duck typing, and every one passes.
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
