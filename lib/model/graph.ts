/**
 * Walking and re-wiring a LayersModel's own graph. Layers can be shared by several models (a base, the
 * classifier built on it, the two halves of a split), so a layer's `output` is ambiguous; everything here
 * follows the symbolic tensors of one model instead.
 */
import * as tf from '@tensorflow/tfjs';

type ST = tf.SymbolicTensor;

/**
 * The symbolic tensors `outputs` depend on (themselves included), each after the tensors it is computed from
 * (inputs first). The walk does not go past a tensor whose id is in `stopAt` (it is listed, its inputs are not).
 */
export function tensorsInOrder(outputs: ST[], stopAt: ReadonlySet<number> = new Set()): ST[] {
  const seen = new Set<number>();
  const order: ST[] = [];
  const visit = (t: ST): void => {
    if (seen.has(t.id)) return;
    seen.add(t.id);
    if (!stopAt.has(t.id)) for (const i of t.inputs ?? []) visit(i);
    order.push(t);
  };
  outputs.forEach(visit);
  return order;
}

/** Every symbolic tensor `outputs` depend on (themselves included), keyed by tensor id. */
export function ancestorTensors(outputs: ST[]): Map<number, ST> {
  return new Map(tensorsInOrder(outputs).map((t) => [t.id, t]));
}

/** The output tensor of layer `layerName` inside `model`'s graph; throws listing the layers when absent. */
export function layerOutputIn(model: tf.LayersModel, layerName: string, what = 'layer'): ST {
  const matches = [...ancestorTensors(model.outputs).values()].filter((t) => t.sourceLayer.name === layerName);
  if (!matches.length) {
    throw new Error(`unknown ${what} '${layerName}' in model '${model.name}'. Valid layer names: ${model.layers.map((l) => l.name).join(', ')}`);
  }
  if (matches.length > 1) throw new Error(`layer '${layerName}' is used more than once in model '${model.name}'; its output is ambiguous`);
  return matches[0];
}

/**
 * Re-applies the layers (the same objects: weights shared) that compute `outputs`, starting from the
 * tensors in `replace` (old tensor id -> new symbolic tensor). `onOutside(t, consumer)` is called when the
 * walk reaches a tensor that is neither replaced nor computable (a model input, or a tensor `stop` marks);
 * it must throw. Each re-application adds a reference to the layer, so the new model can be disposed
 * without freeing weights other models still use.
 */
export function reapplyLayers(
  outputs: ST[],
  replace: Map<number, ST>,
  onOutside: (t: ST, consumer: string) => never,
  stop: (t: ST) => boolean = () => false,
): ST[] {
  const done = new Map<number, ST>();
  const visit = (t: ST, consumer: string): ST => {
    const r = replace.get(t.id) ?? done.get(t.id);
    if (r) return r;
    if (stop(t) || t.sourceLayer.getClassName() === 'InputLayer' || !t.inputs?.length) onOutside(t, consumer);
    const inputs = t.inputs.map((i) => visit(i, t.sourceLayer.name));
    // A multi-output node is applied once; its sibling outputs are recorded too.
    const applied = t.sourceLayer.apply(inputs.length === 1 ? inputs[0] : inputs, t.callArgs) as ST | ST[];
    const outs = Array.isArray(applied) ? applied : [applied];
    const node = t.sourceLayer.inboundNodes[t.nodeIndex];
    node.outputTensors.forEach((o, k) => done.set(o.id, outs[k]));
    return done.get(t.id) ?? outs[t.tensorIndex];
  };
  return outputs.map((o) => visit(o, '(output)'));
}
