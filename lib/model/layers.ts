/** Walking a model: every layer (nested models included) and its trainable weights, each shared one once. */
import * as tf from '@tensorflow/tfjs';

/** Every layer of a model, depth first in model order, nested models' layers after the nested model itself. */
export function allLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const visit = (layers: tf.layers.Layer[]) => {
    for (const l of layers) {
      out.push(l);
      const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (Array.isArray(inner)) visit(inner);
    }
  };
  visit(model.layers);
  return out;
}

/** The `originalName` of a model weight: tfjs makes variable names unique per engine, original names are per model. */
export function weightOriginalName(w: tf.LayerVariable): string {
  return (w as unknown as { originalName: string }).originalName;
}

/** The model's trainable weights by first appearance, shared ones once. */
export function trainableWeightList(model: tf.LayersModel): tf.LayerVariable[] {
  const seen = new Set<string>();
  const out: tf.LayerVariable[] = [];
  for (const w of model.trainableWeights) {
    const v = w.read() as tf.Variable;
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    out.push(w);
  }
  return out;
}

/** The tf.Variables behind `trainableWeightList(model)`, in that order. The model owns them. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return trainableWeightList(model).map((w) => w.read() as tf.Variable);
}
