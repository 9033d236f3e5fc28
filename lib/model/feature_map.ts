/**
 * What explanation methods such as Grad-CAM differentiate, found in a model's own graph: its spatial
 * feature maps (the last one by default) and the class scores before its softmax.
 */
import * as tf from '@tensorflow/tfjs';
import { ancestorTensors } from './graph';

type ST = tf.SymbolicTensor;

const isMap = (t: ST): boolean => t.shape.length === 4 && t.sourceLayer.getClassName() !== 'InputLayer';

/** The layers of `model` whose output in its graph is a `[batch, height, width, channels]` map, in network order. */
export function featureMapLayers(model: tf.LayersModel): string[] {
  const maps = new Set([...ancestorTensors(model.outputs).values()].filter(isMap).map((t) => t.sourceLayer.name));
  return model.layers.map((l) => l.name).filter((name) => maps.has(name));
}

/**
 * The feature map nearest the output: walking back from the output, the first 4-D tensor on every path
 * (for a classifier on MobileNetV2, the `out_relu` map its global pooling reads). Throws when there is
 * none, or when paths end at different maps (then a layer must be named).
 */
export function lastFeatureMapLayer(model: tf.LayersModel): string {
  const found = new Map<number, ST>();
  const seen = new Set<number>();
  const stack = [...model.outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (isMap(t)) found.set(t.id, t);
    else stack.push(...(t.inputs ?? []));
  }
  const names = [...new Set([...found.values()].map((t) => t.sourceLayer.name))];
  if (!names.length) throw new Error(`model '${model.name}' has no 4-D [batch, height, width, channels] feature map before its output`);
  if (names.length > 1) {
    throw new Error(`model '${model.name}' has several last feature maps (${names.join(', ')}); name the one to explain with the 'layer' option`);
  }
  return names[0];
}

/** The output of `layer` (default `lastFeatureMapLayer`) in `model`'s graph; throws listing the valid layers when it is not a 4-D map. */
export function featureMapOutput(model: tf.LayersModel, layer?: string): ST {
  const name = layer ?? lastFeatureMapLayer(model);
  const matches = [...ancestorTensors(model.outputs).values()].filter((t) => t.sourceLayer.name === name);
  if (matches.length === 1 && isMap(matches[0])) return matches[0];
  const valid = featureMapLayers(model);
  const why = !matches.length
    ? `is not a layer of model '${model.name}'`
    : matches.length > 1
      ? `is used more than once in model '${model.name}' (its output is ambiguous)`
      : `outputs shape [${matches[0].shape.map(String).join(', ')}], not a [batch, height, width, channels] feature map`;
  const last = valid.length ? ` (the default is the last, '${lastFeatureMapLayer(model)}')` : '';
  throw new Error(`layer '${name}' ${why}. Feature-map layers${last}: ${valid.join(', ') || 'none'}`);
}

/** Which values a `ClassScore` gives: the logits before the softmax, or the model's output as it is. */
export type ClassScoreKind = 'logit' | 'output';

/** A model's class scores, computed from a tensor of its graph. */
export interface ClassScore {
  /** The tensor the scores are computed from (`runLayers` gives its value). */
  input: ST;
  kind: ClassScoreKind;
  /** `[batch, classes]` scores from the value of `input`. The caller owns the result. */
  score(value: tf.Tensor): tf.Tensor2D;
}

const activationOf = (layer: tf.layers.Layer): unknown => (layer.getConfig() as { activation?: unknown }).activation;

/**
 * The class scores of a `[batch, classes]` classifier before its softmax: the input of a final `Softmax`
 * or softmax `Activation` layer, the linear part of a final softmax `Dense` layer, or the output of a
 * linear one (`kind: 'logit'`). Any other output (a sigmoid, a custom layer) is used as it is
 * (`kind: 'output'`).
 */
export function classScoreOf(model: tf.LayersModel): ClassScore {
  if (model.outputs.length !== 1 || model.outputs[0].shape.length !== 2) {
    throw new Error(`model '${model.name}' must have one [batch, classes] output, got ${model.outputs.map((o) => `[${o.shape.map(String).join(', ')}]`).join(', ')}`);
  }
  const out = model.outputs[0];
  const layer = out.sourceLayer;
  const kind = layer.getClassName();
  const inp = out.inputs?.[0];
  if (inp && (kind === 'Softmax' || (kind === 'Activation' && activationOf(layer) === 'softmax'))) {
    return { input: inp, kind: 'logit', score: (v) => v as tf.Tensor2D };
  }
  if (inp && kind === 'Dense' && activationOf(layer) === 'softmax' && inp.shape.length === 2) {
    const score = (v: tf.Tensor): tf.Tensor2D =>
      tf.tidy(() => {
        // Read at each call: the weights (not copies) as training has left them.
        const [kernel, bias] = layer.getWeights();
        const z = tf.matMul(v as tf.Tensor2D, kernel as tf.Tensor2D);
        return (bias ? tf.add(z, bias) : z) as tf.Tensor2D;
      });
    return { input: inp, kind: 'logit', score };
  }
  const linear = kind === 'Dense' && activationOf(layer) === 'linear';
  return { input: out, kind: linear ? 'logit' : 'output', score: (v) => v as tf.Tensor2D };
}
