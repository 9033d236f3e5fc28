/**
 * An inference form of a frozen LayersModel: the layer graph is walked once (through the inbound nodes that the
 * model itself uses) and turned into a plain, serializable list of steps. With folding on, every BatchNormalization
 * that follows a Conv2D / DepthwiseConv2D is folded into that convolution's kernel and bias, a ZeroPadding2D in front
 * of it becomes the convolution's own padding, and a following ReLU / ReLU6 becomes its fused activation, so each
 * conv + BN + ReLU6 runs as one `tf.fused.conv2d` / `tf.fused.depthwiseConv2d` (one FusedConv2D kernel on wasm).
 * Layers without a special form run as themselves (rebuilt from their config and weights, inference mode).
 *
 * Only for frozen layers: the folded weights are a snapshot; training the source model does not change them.
 * The spec (`InferenceSpec`) holds only JSON values and Float32Arrays, so it can be posted to worker threads.
 */
import * as tf from '@tensorflow/tfjs';
import { tensorsInOrder } from './graph';

/** Version of the spec layout; bump when `InferenceStep` changes so stale copies are never reused. */
export const INFERENCE_SPEC_VERSION = 1;

export type FusedActivationName = 'linear' | 'relu' | 'relu6';
type Padding = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

/** One step of the inference graph. `inputs` are indices of earlier steps (step 0 is the model input). */
export type InferenceStep =
  | { kind: 'input'; name: string; inputs: [] }
  | {
      kind: 'conv2d' | 'depthwise';
      name: string;
      inputs: [number];
      /** Kernel: conv [kh, kw, in, out]; depthwise [kh, kw, in, multiplier]. */
      filter: Float32Array;
      filterShape: [number, number, number, number];
      bias: Float32Array | null;
      strides: [number, number];
      dilations: [number, number];
      pad: Padding;
      activation: FusedActivationName;
      /** Layer names merged into this step (pad, conv, BN, activation), for summaries. */
      merged: string[];
    }
  | { kind: 'pad'; name: string; inputs: [number]; paddings: [[number, number], [number, number]] }
  | { kind: 'add'; name: string; inputs: number[] }
  | { kind: 'activation'; name: string; inputs: [number]; activation: FusedActivationName }
  | {
      kind: 'layer';
      name: string;
      inputs: number[];
      className: string;
      config: tf.serialization.ConfigDict;
      /** Shape of each input without the batch dimension, to build the layer before its weights are set. */
      inputShapes: number[][];
      weights: { shape: number[]; data: Float32Array }[];
    };

export interface InferenceSpec {
  version: number;
  /** Input shape without the batch dimension. */
  inputShape: number[];
  /** Output shape without the batch dimension. */
  outputShape: number[];
  steps: InferenceStep[];
  /** Index of the step whose result is the output. */
  output: number;
  /** Whether BN / padding / activations were folded. */
  folded: boolean;
}

export interface InferenceSpecOptions {
  /** Fold BN, padding and activations into the convolutions. Default true; false keeps every layer as it is. */
  fold?: boolean;
}

// A minimal view of a tfjs-layers layer (public fields in tfjs-layers' topology.ts).
interface LayerView {
  name: string;
  getClassName(): string;
  getConfig(): tf.serialization.ConfigDict;
  getWeights(): tf.Tensor[];
  trainable: boolean;
}

interface GraphNode {
  layer: LayerView;
  /** Keys of the input graph nodes. */
  inputs: string[];
  /** Keys of the nodes that consume this one. */
  consumers: string[];
  /** Shape (without batch) of the node's output. */
  shape: number[];
  inputShapes: number[][];
}

function keyOf(t: tf.SymbolicTensor): string {
  if (t.tensorIndex !== 0) {
    throw new Error(`foldModel: layer '${t.sourceLayer.name}' has several outputs; only single-output layers are supported`);
  }
  return `${t.sourceLayer.name}#${t.nodeIndex}`;
}

function fixedShape(t: tf.SymbolicTensor, what: string): number[] {
  const rest = t.shape.slice(1);
  if (rest.some((d) => d == null)) {
    throw new Error(`foldModel: ${what} has an undefined dimension (${JSON.stringify(t.shape)}); a fixed input size is required`);
  }
  return rest as number[];
}

/** Collects the nodes the model uses, in topological order (inputs first). */
function collectGraph(model: tf.LayersModel): { order: string[]; nodes: Map<string, GraphNode>; output: string; input: string } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`foldModel: model '${model.name}' must have one input and one output (has ${model.inputs.length} / ${model.outputs.length})`);
  }
  const nodes = new Map<string, GraphNode>();
  const order: string[] = [];
  const input = model.inputs[0];
  const inputKey = keyOf(input);
  for (const t of tensorsInOrder(model.outputs, new Set([input.id]))) {
    const key = keyOf(t);
    const layer = t.sourceLayer as unknown as LayerView;
    if (layer instanceof tf.LayersModel) {
      throw new Error(`foldModel: nested model '${layer.name}' inside '${model.name}'; flatten it first`);
    }
    const inputTensors = key === inputKey ? [] : t.inputs;
    const inputs = inputTensors.map(keyOf);
    nodes.set(key, {
      layer,
      inputs,
      consumers: [],
      shape: fixedShape(t, `output of layer '${layer.name}'`),
      inputShapes: inputTensors.map((it) => fixedShape(it, `input of layer '${layer.name}'`)),
    });
    for (const i of inputs) nodes.get(i)!.consumers.push(key);
    order.push(key);
  }
  const output = keyOf(model.outputs[0]);
  if (!nodes.has(inputKey)) throw new Error(`foldModel: output of '${model.name}' does not depend on its input`);
  return { order, nodes, output, input: inputKey };
}

function pair(v: unknown, what: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((n) => Number.isInteger(n))) throw new Error(`foldModel: ${what} must be an int or a pair, got ${JSON.stringify(v)}`);
  return [a[0] as number, a[1] as number];
}

function fusableActivation(layer: LayerView): FusedActivationName | null {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  if (cls === 'ReLU') {
    if (cfg.maxValue == null) return 'relu';
    if (cfg.maxValue === 6) return 'relu6';
    return null;
  }
  if (cls === 'Activation') {
    const a = cfg.activation;
    if (a === 'relu' || a === 'relu6' || a === 'linear') return a;
  }
  return null;
}

function channelsLast(cfg: tf.serialization.ConfigDict): boolean {
  return cfg.dataFormat == null || cfg.dataFormat === 'channelsLast';
}

/** TF's 'same' padding for one spatial dimension: [before, after]. */
function samePads(size: number, k: number, stride: number, dilation: number): [number, number] {
  const eff = (k - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + eff - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function toFloat32(t: tf.Tensor): Float32Array {
  // dataSync returns the backend's own buffer on some backends: copy so the spec owns its data.
  return Float32Array.from(t.dataSync() as Float32Array);
}

/**
 * Builds the inference spec of a frozen model. Reads (copies) the weights; the model is not changed.
 * Throws naming the layer when the graph has a shape this walk does not support (several inputs/outputs,
 * nested models, undefined spatial sizes).
 */
export function buildInferenceSpec(model: tf.LayersModel, options: InferenceSpecOptions = {}): InferenceSpec {
  const fold = options.fold ?? true;
  const { order, nodes, output, input } = collectGraph(model);
  const stepOf = new Map<string, number>();
  const steps: InferenceStep[] = [];
  const absorbed = new Set<string>();
  const heldPads = new Map<string, { name: string; input: number; paddings: [[number, number], [number, number]] }>();
  const soleConsumer = (key: string): string | null => {
    const n = nodes.get(key)!;
    return n.consumers.length === 1 && key !== output ? n.consumers[0] : null;
  };

  for (const key of order) {
    if (absorbed.has(key)) continue;
    const node = nodes.get(key)!;
    const layer = node.layer;
    const cls = layer.getClassName();
    const name = layer.name;
    const cfg = layer.getConfig();
    const ins = () => node.inputs.map((k) => stepOf.get(k)!);
    let lastKey = key;
    const foldableConv = fold && isFoldableConv(layer);
    if (!foldableConv) {
      // A held-back padding whose conv turned out not to take it runs as its own step.
      for (const k of node.inputs) {
        const held = heldPads.get(k);
        if (!held) continue;
        heldPads.delete(k);
        steps.push({ kind: 'pad', name: held.name, inputs: [held.input], paddings: held.paddings });
        stepOf.set(k, steps.length - 1);
      }
    }

    if (key === input) {
      steps.push({ kind: 'input', name, inputs: [] });
    } else if (foldableConv) {
      const depthwise = cls === 'DepthwiseConv2D';
      const [kernelT, biasT] = layer.getWeights();
      const filterShape = kernelT.shape as [number, number, number, number];
      const filter = toFloat32(kernelT);
      const outC = depthwise ? filterShape[2] * filterShape[3] : filterShape[3];
      let bias: Float32Array | null = cfg.useBias && biasT ? toFloat32(biasT) : null;
      const strides = pair(cfg.strides, `${name}.strides`);
      const dilations = pair(cfg.dilationRate ?? 1, `${name}.dilationRate`);
      const merged = [name];
      let inputStep = ins()[0];
      let pad: Padding = cfg.padding === 'same' ? 'same' : 'valid';
      // A ZeroPadding2D held back for this conv (see below) becomes the conv's padding.
      const held = heldPads.get(node.inputs[0]);
      if (held) {
        heldPads.delete(node.inputs[0]);
        const [[t, b], [l, r]] = held.paddings;
        const inShape = nodes.get(node.inputs[0])!.inputShapes[0];
        const sameH = samePads(inShape[0], filterShape[0], strides[0], dilations[0]);
        const sameW = samePads(inShape[1], filterShape[1], strides[1], dilations[1]);
        const isSame = sameH[0] === t && sameH[1] === b && sameW[0] === l && sameW[1] === r;
        if (isSame || !depthwise) {
          // 'same' where it is the same padding: the only other form FusedDepthwiseConv2D accepts besides 'valid'.
          pad = isSame ? 'same' : [[0, 0], [t, b], [l, r], [0, 0]];
          inputStep = held.input;
          merged.unshift(held.name);
        } else {
          steps.push({ kind: 'pad', name: held.name, inputs: [held.input], paddings: held.paddings });
          inputStep = steps.length - 1;
        }
      }
      let activation = convActivation(cfg)!;
      // BatchNormalization (the sole consumer, on the channel axis) folds into kernel and bias.
      const bnKey = activation === 'linear' ? soleConsumer(key) : null;
      const bnNode = bnKey ? nodes.get(bnKey)! : null;
      if (bnNode && bnNode.layer.getClassName() === 'BatchNormalization' && isChannelAxis(bnNode.layer.getConfig().axis, node.shape.length)) {
        bias = foldBatchNorm(bnNode.layer, filter, outC, bias);
        merged.push(bnNode.layer.name);
        absorbed.add(bnKey!);
        lastKey = bnKey!;
      }
      const actKey = activation === 'linear' ? soleConsumer(lastKey) : null;
      const act = actKey ? fusableActivation(nodes.get(actKey)!.layer) : null;
      if (actKey && act) {
        activation = act;
        merged.push(nodes.get(actKey)!.layer.name);
        absorbed.add(actKey);
        lastKey = actKey;
      }
      steps.push({
        kind: depthwise ? 'depthwise' : 'conv2d',
        name,
        inputs: [inputStep],
        filter,
        filterShape,
        bias,
        strides,
        dilations,
        pad,
        activation,
        merged,
      });
    } else if (fold && cls === 'ZeroPadding2D' && channelsLast(cfg)) {
      const p = cfg.padding as unknown;
      const [ph, pw] = Array.isArray(p) ? (p as unknown[]) : [p, p];
      const paddings: [[number, number], [number, number]] = [pair(ph, `${name}.padding`), pair(pw, `${name}.padding`)];
      const next = soleConsumer(key);
      const nextLayer = next ? nodes.get(next)!.layer : null;
      if (nextLayer && isFoldableConv(nextLayer) && nextLayer.getConfig().padding === 'valid') {
        // Held back: the conv that consumes it decides whether the padding merges into it.
        heldPads.set(key, { name, input: ins()[0], paddings });
        continue;
      }
      steps.push({ kind: 'pad', name, inputs: [ins()[0]], paddings });
    } else if (fold && cls === 'Add') {
      steps.push({ kind: 'add', name, inputs: ins() });
    } else if (fold && fusableActivation(layer)) {
      steps.push({ kind: 'activation', name, inputs: [ins()[0]], activation: fusableActivation(layer)! });
    } else {
      steps.push(genericStep(node, name, cls, cfg, ins()));
    }
    const idx = steps.length - 1;
    stepOf.set(key, idx);
    if (lastKey !== key) stepOf.set(lastKey, idx);
  }
  return {
    version: INFERENCE_SPEC_VERSION,
    inputShape: nodes.get(input)!.shape,
    outputShape: nodes.get(output)!.shape,
    steps,
    output: stepOf.get(output)!,
    folded: fold,
  };
}

/** The conv's own activation when the fused kernels can run it, else null. */
function convActivation(cfg: tf.serialization.ConfigDict): FusedActivationName | null {
  const a = cfg.activation ?? 'linear';
  return a === 'linear' || a === 'relu' || a === 'relu6' ? a : null;
}

function isFoldableConv(layer: LayerView): boolean {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  return (cls === 'Conv2D' || cls === 'DepthwiseConv2D') && channelsLast(cfg) && convActivation(cfg) !== null;
}

function isChannelAxis(axis: unknown, rank: number): boolean {
  const a = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : NaN) : axis;
  return a === -1 || a === rank;
}

/**
 * Folds inference-mode BN (y = gamma * (x - mean) / sqrt(var + eps) + beta) into the kernel (scaled in place per
 * output channel) and returns the new bias. Computed in float64, stored as float32.
 */
function foldBatchNorm(bn: LayerView, filter: Float32Array, outC: number, bias: Float32Array | null): Float32Array {
  const cfg = bn.getConfig();
  const w = bn.getWeights().map(toFloat32);
  let i = 0;
  const gamma = cfg.scale ? w[i++] : null;
  const beta = cfg.center ? w[i++] : null;
  const mean = w[i++];
  const variance = w[i++];
  const eps = Number(cfg.epsilon);
  if (mean.length !== outC) throw new Error(`foldModel: BatchNormalization '${bn.name}' has ${mean.length} channels, expected ${outC}`);
  const scale = new Float64Array(outC);
  const out = new Float32Array(outC);
  for (let c = 0; c < outC; c++) {
    scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
    out[c] = ((bias ? bias[c] : 0) - mean[c]) * scale[c] + (beta ? beta[c] : 0);
  }
  // Kernel layouts [kh, kw, in, out] and [kh, kw, in, mult] both put the output channel innermost-contiguous
  // (for depthwise, channel = in * mult + m), so the flat index modulo outC is the output channel.
  for (let j = 0; j < filter.length; j++) filter[j] = filter[j] * scale[j % outC];
  return out;
}

function genericStep(node: GraphNode, name: string, className: string, config: tf.serialization.ConfigDict, inputs: number[]): InferenceStep {
  return {
    kind: 'layer',
    name,
    inputs,
    className,
    config,
    inputShapes: node.inputShapes,
    weights: node.layer.getWeights().map((t) => ({ shape: t.shape.slice(), data: toFloat32(t) })),
  };
}

type Runner = (inputs: tf.Tensor[]) => tf.Tensor;

/**
 * Executable form of an `InferenceSpec`. Owns the tensors made from the spec's weights; `dispose()` frees them.
 * The spec may come from another thread.
 */
export class FoldedModel {
  readonly spec: InferenceSpec;
  private runners: Runner[] = [];
  private owned: tf.Tensor[] = [];
  private layers: tf.layers.Layer[] = [];
  private disposed = false;

  constructor(spec: InferenceSpec) {
    if (spec.version !== INFERENCE_SPEC_VERSION) {
      throw new Error(`FoldedModel: spec version ${spec.version}, expected ${INFERENCE_SPEC_VERSION}`);
    }
    this.spec = spec;
    this.runners = spec.steps.map((s) => this.runnerFor(s));
  }

  /** Runs the model. The caller owns the returned tensor; intermediate tensors are freed. */
  predict(x: tf.Tensor): tf.Tensor {
    if (this.disposed) throw new Error('FoldedModel.predict: the model was disposed');
    const want = this.spec.inputShape;
    if (x.rank !== want.length + 1 || x.shape.slice(1).some((d, i) => d !== want[i])) {
      throw new Error(`FoldedModel.predict: input shape ${JSON.stringify(x.shape)}, expected [batch, ${want.join(', ')}]`);
    }
    return tf.tidy(() => {
      const values: (tf.Tensor | undefined)[] = new Array(this.spec.steps.length);
      values[0] = x;
      for (let i = 1; i < this.spec.steps.length; i++) {
        const s = this.spec.steps[i];
        if (s.kind === 'input') continue;
        values[i] = this.runners[i](s.inputs.map((j) => values[j]!));
      }
      return values[this.spec.output]!;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.owned);
    // Layer.dispose() refuses layers never applied symbolically; their variables are all they hold.
    for (const l of this.layers) for (const w of l.weights) w.dispose();
    this.owned = [];
    this.layers = [];
  }

  private keep<T extends tf.Tensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  private runnerFor(s: InferenceStep): Runner {
    switch (s.kind) {
      case 'input':
        return ([x]) => x;
      case 'conv2d': {
        const filter = this.keep(tf.tensor4d(s.filter, s.filterShape));
        const bias = s.bias ? this.keep(tf.tensor1d(s.bias)) : undefined;
        return ([x]) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter,
            strides: s.strides,
            pad: s.pad,
            dilations: s.dilations,
            bias,
            activation: s.activation,
          });
      }
      case 'depthwise': {
        const filter = this.keep(tf.tensor4d(s.filter, s.filterShape));
        const bias = s.bias ? this.keep(tf.tensor1d(s.bias)) : undefined;
        const pad = s.pad as 'same' | 'valid';
        return ([x]) =>
          tf.fused.depthwiseConv2d({
            x: x as tf.Tensor4D,
            filter,
            strides: s.strides,
            pad,
            dilations: s.dilations,
            bias,
            activation: s.activation,
          });
      }
      case 'pad':
        return ([x]) => tf.pad(x, [[0, 0], s.paddings[0], s.paddings[1], [0, 0]]);
      case 'add':
        return (xs) => (xs.length === 2 ? tf.add(xs[0], xs[1]) : tf.addN(xs));
      case 'activation':
        return ([x]) => (s.activation === 'relu' ? tf.relu(x) : s.activation === 'relu6' ? tf.relu6(x) : x);
      case 'layer': {
        const layer = rebuildLayer(s);
        this.layers.push(layer);
        return (xs) => layer.apply(xs.length === 1 ? xs[0] : xs, { training: false }) as tf.Tensor;
      }
    }
  }
}

/** Recreates a layer from its class name, config and weights (inference use). */
function rebuildLayer(s: Extract<InferenceStep, { kind: 'layer' }>): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[s.className];
  if (!entry) {
    throw new Error(`FoldedModel: layer '${s.name}' has class '${s.className}', which is not registered in this thread (custom layer?)`);
  }
  const [cls, fromConfig] = entry;
  const layer = fromConfig(cls, { ...s.config, name: s.name }) as unknown as tf.layers.Layer;
  const shapes = s.inputShapes.map((sh) => [null, ...sh]);
  layer.build(shapes.length === 1 ? shapes[0] : shapes);
  (layer as unknown as { built: boolean }).built = true;
  if (s.weights.length) {
    const ws = s.weights.map((w) => tf.tensor(w.data, w.shape));
    layer.setWeights(ws);
    tf.dispose(ws);
  }
  return layer;
}

/**
 * The folded inference form of a frozen model (see the file comment). The caller owns the result and disposes it;
 * `model` is not changed and stays usable.
 */
export function foldModel(model: tf.LayersModel, options: InferenceSpecOptions = {}): FoldedModel {
  return new FoldedModel(buildInferenceSpec(model, { fold: options.fold ?? true }));
}
