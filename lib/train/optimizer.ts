/** The optimizers a phase can train with: one closed set, named as users write them. */
import * as tf from '@tensorflow/tfjs';

export const OPTIMIZERS = ['adam', 'rmsprop', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
/** Adam, as the Keras guide uses (RMSprop is the older tutorial's choice for fine-tuning). */
export const DEFAULT_OPTIMIZER: OptimizerName = 'adam';

/** A new optimizer of that kind at rate `lr`; the caller owns (and disposes) it. */
export function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'sgd':
      return tf.train.sgd(lr);
    default:
      throw new Error(`optimizer: expected one of ${OPTIMIZERS.join(', ')}, got '${name as string}'`);
  }
}
