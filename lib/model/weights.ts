/** Moving trained weights between two models of the same architecture. */
import type * as tf from '@tensorflow/tfjs';

/**
 * Copies every weighted layer of `from` into the layer of the same name in `to`. Throws, prefixed with `what`,
 * naming the layer when `to` lacks it or its weights have other shapes. The tensors `to` holds are its own.
 */
export function copyWeightsByName(from: tf.LayersModel, to: tf.LayersModel, what: string): void {
  for (const layer of from.layers) {
    const weights = layer.getWeights();
    if (!weights.length) continue;
    let target: tf.layers.Layer;
    try {
      target = to.getLayer(layer.name);
    } catch {
      throw new Error(`${what}: the saved classifier has layer '${layer.name}', which this classifier lacks; use the same base and head parameters as the notebook that saved it`);
    }
    const shapes = target.getWeights().map((w) => w.shape.join('x'));
    const savedShapes = weights.map((w) => w.shape.join('x'));
    if (shapes.join(',') !== savedShapes.join(',')) {
      throw new Error(`${what}: layer '${layer.name}' has weights ${savedShapes.join(', ')} saved but ${shapes.join(', ')} here; use the same base, image size and head parameters`);
    }
    target.setWeights(weights);
  }
}
