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
  return walkLayers(outputs, replace, new Map(), {}, onOutside, stop);
}

/**
 * Computes the values of `outputs` (symbolic tensors of one model's graph) on real tensors by calling
 * each layer on its inputs' values, with `training: false` (BatchNormalization uses its moving statistics,
 * Dropout passes through), and without adding nodes to the graph. `values` maps symbolic tensor ids to
 * known values (at least the model's input); every value computed is added to it, so a later call can
 * start from them. The caller owns every tensor added (run it inside `tf.tidy`). Throws naming the layer
 * when the walk needs a tensor that is neither in `values` nor computable.
 */
export function runLayers(outputs: ST[], values: Map<number, tf.Tensor>): tf.Tensor[] {
  return walkLayers(outputs, values, values, { training: false }, (t, consumer) => {
    throw new Error(`runLayers: layer '${consumer}' needs the value of '${t.sourceLayer.name}', which was not given`);
  });
}

/**
 * The tensors at or before `cut` (its ancestors, `cut` included) that the layers computing `outputs` from
 * after the cut read: `cut` itself, plus the start of every connection that crosses the cut. Their values
 * are all `runLayers` needs to compute `outputs` again from `cut`.
 */
export function tensorsReadAcross(outputs: ST[], cut: ST): ST[] {
  const before = ancestorTensors([cut]);
  const read = new Map<number, ST>([[cut.id, cut]]);
  for (const t of ancestorTensors(outputs).values()) {
    if (before.has(t.id)) continue;
    for (const i of t.inputs ?? []) if (before.has(i.id)) read.set(i.id, i);
  }
  return [...read.values()];
}

/**
 * The walk both of the above share: from the known tensors (`known`, then `done`) to `outputs`, applying
 * each layer once per node with its recorded call arguments plus `kwargs`; the results go into `done`.
 */
function walkLayers<T extends ST | tf.Tensor>(
  outputs: ST[],
  known: Map<number, T>,
  done: Map<number, T>,
  kwargs: Record<string, unknown>,
  onOutside: (t: ST, consumer: string) => never,
  stop: (t: ST) => boolean = () => false,
): T[] {
  const visit = (t: ST, consumer: string): T => {
    const r = known.get(t.id) ?? done.get(t.id);
    if (r) return r;
    if (stop(t) || t.sourceLayer.getClassName() === 'InputLayer' || !t.inputs?.length) onOutside(t, consumer);
    const inputs = t.inputs.map((i) => visit(i, t.sourceLayer.name));
    // A multi-output node is applied once; its sibling outputs are recorded too.
    const applied = t.sourceLayer.apply((inputs.length === 1 ? inputs[0] : inputs) as ST | ST[], { ...t.callArgs, ...kwargs }) as T | T[];
    const outs = Array.isArray(applied) ? applied : [applied];
    const node = t.sourceLayer.inboundNodes[t.nodeIndex];
    node.outputTensors.forEach((o, k) => done.set(o.id, outs[k]));
    return done.get(t.id) ?? outs[t.tensorIndex];
  };
  return outputs.map((o) => visit(o, '(output)'));
}
