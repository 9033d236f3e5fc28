/**
 * Reading tfjs LayersModel files (model.json + weight shards) from disk, checking them, and pruning the
 * topology to a cut layer (optionally with a new input size) before tfjs builds anything, so that layers
 * after the cut never allocate weights and a fully convolutional part can take another input size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** The parts of a model.json this module reads. */
export interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** A model.json with its weights concatenated in manifest order. */
export interface RawModel {
  json: ModelJson;
  /** All shards, concatenated in manifest order. */
  weightData: ArrayBuffer;
  /** Where it came from (for messages). */
  source: string;
  /** The shard files and the byte range of `weightData` each holds (read from disk only), to name a damaged file. */
  shards?: { file: string; start: number; end: number }[];
}

/** Largest weight magnitude accepted: trained networks stay many orders below it; damaged bytes (1e30, NaN) do not. */
export const MAX_WEIGHT_MAGNITUDE = 1e6;

/** A Keras layer entry of a functional or sequential config. */
interface LayerConfig {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

interface GraphConfig {
  name?: string;
  layers: LayerConfig[];
  input_layers?: [string, number, number][];
  output_layers?: [string, number, number][];
}

/** Throws a clear error when `json` is a GraphModel or not a tfjs LayersModel at all. */
export function assertLayersModelJson(json: ModelJson, source: string): void {
  const topo = json.modelTopology as Record<string, unknown> | undefined;
  if (json.format === 'graph-model' || (topo && ('node' in topo || 'versions' in topo))) {
    throw new Error(
      `${source} is a TensorFlow.js GraphModel (a frozen graph converted from a SavedModel): its weights are constants, ` +
        'so it cannot be cut, frozen or fine-tuned. Use a LayersModel instead (a Keras model converted with ' +
        '`tensorflowjs_converter --input_format keras`, format "layers-model").',
    );
  }
  if (!topo || typeof topo !== 'object') throw new Error(`${source}: no modelTopology; expected a tfjs LayersModel model.json`);
  if (!Array.isArray(json.weightsManifest)) throw new Error(`${source}: no weightsManifest; expected a tfjs LayersModel model.json`);
  const cfg = kerasConfig(json);
  if (!cfg || !Array.isArray(cfg.config.layers)) {
    throw new Error(`${source}: modelTopology is not a Keras Model/Sequential config; expected a tfjs LayersModel model.json`);
  }
}

/** The `{class_name, config}` of the Keras model inside a topology (tfjs and Keras 2 nest it differently). */
function kerasConfig(json: ModelJson): { class_name: string; config: GraphConfig } | undefined {
  const topo = json.modelTopology as Record<string, unknown>;
  const inner = (topo.model_config ?? topo) as { class_name?: string; config?: unknown };
  if (typeof inner.class_name !== 'string' || !inner.config) return undefined;
  const config = inner.config as GraphConfig | { layers: LayerConfig[] } | LayerConfig[];
  // Keras 2.1 Sequential configs are a bare list of layers.
  return { class_name: inner.class_name, config: Array.isArray(config) ? { layers: config } : (config as GraphConfig) };
}

/**
 * Reads `<file>` (a model.json) and every shard its manifest lists, relative to its folder, and checks them: each
 * group's shards must hold exactly the bytes its weights need, and every weight must be finite and below
 * `MAX_WEIGHT_MAGNITUDE` (see `weightValueProblem`). Throws naming the file: a missing, truncated, oversized or
 * damaged shard, a GraphModel, malformed JSON.
 */
export function readModelDir(file: string): RawModel {
  if (!fs.existsSync(file)) throw new Error(`model.json not found: ${file}`);
  if (fs.statSync(file).isDirectory()) file = path.join(file, 'model.json');
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJson;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  assertLayersModelJson(json, file);
  const dir = path.dirname(file);
  const buffers: Buffer[] = [];
  const shards: NonNullable<RawModel['shards']> = [];
  let offset = 0;
  for (const group of json.weightsManifest ?? []) {
    const expected = group.weights.reduce((a, w) => a + specByteLength(w, file), 0);
    const sizes: string[] = [];
    let got = 0;
    for (const p of group.paths) {
      const shard = path.join(dir, decodeURIComponent(p));
      if (!fs.existsSync(shard)) {
        throw new Error(`${file}: weight shard '${p}' listed in weightsManifest is missing (expected at ${shard})`);
      }
      const bytes = fs.readFileSync(shard);
      buffers.push(bytes);
      shards.push({ file: shard, start: offset + got, end: offset + got + bytes.length });
      sizes.push(`'${p}' (${bytes.length} bytes)`);
      got += bytes.length;
    }
    if (got !== expected) {
      const what = got < expected ? 'truncated' : 'extra bytes';
      const which = group.paths.length === 1 ? `weight shard '${group.paths[0]}' holds` : `weight shards ${sizes.join(', ')} hold`;
      throw new Error(
        `${file}: ${which} ${got} bytes but weightsManifest describes ${expected} (${what}); the file is damaged or belongs to another model`,
      );
    }
    offset += got;
  }
  const raw: RawModel = { json, weightData: toArrayBuffer(Buffer.concat(buffers)), source: file, shards };
  const problem = weightValueProblem(raw);
  if (problem) throw new Error(problem);
  return raw;
}

/**
 * Why the weights of `raw` cannot be a trained network's, naming the file and the weight, or undefined: a NaN, an
 * infinity, or a magnitude above `MAX_WEIGHT_MAGNITUDE` (float32 values, quantisation ranges, float16 values).
 */
export function weightValueProblem(raw: RawModel): string | undefined {
  const fileAt = (byte: number): string => raw.shards?.find((s) => byte >= s.start && byte < s.end)?.file ?? raw.source;
  const bad = (v: number): boolean => !(Math.abs(v) <= MAX_WEIGHT_MAGNITUDE);
  const tell = (byte: number, name: string, what: string): string =>
    `${fileAt(byte)}: weight '${name}' ${what} (a usable weight is finite and at most ${MAX_WEIGHT_MAGNITUDE} in magnitude); ` +
    "the file is damaged or holds another model's weights";
  let offset = 0;
  for (const spec of (raw.json.weightsManifest ?? []).flatMap((g) => g.weights)) {
    const bytes = specByteLength(spec, raw.source);
    const q = spec.quantization;
    if (q?.dtype === 'float16') {
      const view = new DataView(raw.weightData, offset, bytes);
      for (let i = 0; i < bytes; i += 2) {
        if ((view.getUint16(i, true) & 0x7c00) === 0x7c00) return tell(offset + i, spec.name, 'holds a float16 NaN or infinity');
      }
    } else if (q) {
      const top = (q.min ?? 0) + (q.scale ?? 1) * (q.dtype === 'uint8' ? 255 : 65535);
      if (bad(q.min ?? 0) || bad(q.scale ?? 1) || bad(top)) {
        return tell(offset, spec.name, `is quantised with min ${q.min} and scale ${q.scale}, giving values up to ${top}`);
      }
    } else if (spec.dtype === 'float32') {
      const values = offset % 4 === 0 ? new Float32Array(raw.weightData, offset, bytes / 4) : new Float32Array(raw.weightData.slice(offset, offset + bytes));
      for (let i = 0; i < values.length; i++) if (bad(values[i])) return tell(offset + 4 * i, spec.name, `holds ${values[i]}`);
    }
    offset += bytes;
  }
  return undefined;
}

/** The paths of every weight shard of `json`, as listed (relative to the model.json). */
export function shardPaths(json: ModelJson): string[] {
  return (json.weightsManifest ?? []).flatMap((g) => g.paths);
}

export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Layer names and classes of a model.json, in config order. */
export function topologyLayers(json: ModelJson): { name: string; className: string }[] {
  const cfg = kerasConfig(json);
  if (!cfg) throw new Error('topologyLayers: not a Keras model topology');
  return cfg.config.layers.map((l) => ({ name: l.name ?? (l.config.name as string), className: l.class_name }));
}

/** The output layer name of a model.json's topology (the last layer for Sequential models). */
export function topologyOutputLayer(json: ModelJson): string {
  const cfg = kerasConfig(json);
  if (!cfg) throw new Error('topologyOutputLayer: not a Keras model topology');
  const outs = cfg.config.output_layers;
  if (outs && outs.length) return outs[0][0];
  const layers = cfg.config.layers;
  return layers[layers.length - 1].name ?? (layers[layers.length - 1].config.name as string);
}

/** The square input size of a topology, or undefined when it has no fixed square input. */
export function topologyInputSize(json: ModelJson): number | undefined {
  const shape = inputShapeOf(kerasConfig(json)!.config);
  return shape && shape[1] !== null && shape[1] === shape[2] ? (shape[1] as number) : undefined;
}

function inputShapeOf(cfg: GraphConfig): (number | null)[] | undefined {
  const first = cfg.layers[0];
  if (!first) return undefined;
  const c = first.config;
  return (c.batch_input_shape ?? c.batchInputShape ?? c.batch_shape) as (number | null)[] | undefined;
}

/** Layer classes that fix the spatial size of what they receive, so the input size cannot change. */
const SPATIALLY_FIXED = new Set(['Flatten', 'Reshape']);

export interface PruneOptions {
  /** Keep only this layer and its ancestors; it becomes the only output. */
  cutLayer: string;
  /** New square input size (height = width); undefined keeps the topology's. */
  inputSize?: number;
}

/**
 * Returns a copy of `raw` with the topology cut after `cutLayer` (only its ancestors kept), the input shape
 * set to `inputSize` when given, and the weights of dropped layers removed from specs and data.
 */
export function pruneModel(raw: RawModel, options: PruneOptions): { artifacts: tf.io.ModelArtifacts; keptLayers: string[] } {
  const json: ModelJson = JSON.parse(JSON.stringify(raw.json));
  const cfg = kerasConfig(json)!;
  const layers = cfg.config.layers;
  const byName = new Map(layers.map((l) => [l.name ?? (l.config.name as string), l]));
  if (!byName.has(options.cutLayer)) {
    throw new Error(
      `${raw.source}: unknown cut layer '${options.cutLayer}'. Valid layer names: ${[...byName.keys()].join(', ')}`,
    );
  }
  const sequential = cfg.class_name === 'Sequential';
  let kept: Set<string>;
  if (sequential) {
    const idx = layers.findIndex((l) => (l.name ?? l.config.name) === options.cutLayer);
    kept = new Set(layers.slice(0, idx + 1).map((l) => (l.name ?? l.config.name) as string));
  } else {
    kept = new Set();
    const stack = [options.cutLayer];
    while (stack.length) {
      const name = stack.pop()!;
      if (kept.has(name)) continue;
      kept.add(name);
      for (const src of inboundNames(byName.get(name)!, raw.source)) stack.push(src);
    }
  }
  cfg.config.layers = layers.filter((l) => kept.has((l.name ?? l.config.name) as string));
  if (!sequential) {
    cfg.config.input_layers = (cfg.config.input_layers ?? []).filter((t) => kept.has(t[0]));
    cfg.config.output_layers = [[options.cutLayer, 0, 0]];
  }
  if (options.inputSize !== undefined) setInputSize(cfg.config, options.inputSize, raw.source);

  // Weights are named `<layer>/<weight>`; drop those of layers that were cut away.
  const specs: tf.io.WeightsManifestEntry[] = [];
  const pieces: ArrayBuffer[] = [];
  let offset = 0;
  for (const spec of (json.weightsManifest ?? []).flatMap((g) => g.weights)) {
    const bytes = specByteLength(spec, raw.source);
    const layerName = spec.name.split('/')[0];
    if (!byName.has(layerName) || kept.has(layerName)) {
      specs.push(spec);
      pieces.push(raw.weightData.slice(offset, offset + bytes));
    }
    offset += bytes;
  }
  if (offset !== raw.weightData.byteLength) {
    throw new Error(
      `${raw.source}: the weight shards hold ${raw.weightData.byteLength} bytes but weightsManifest describes ${offset}; a shard is truncated or from another model`,
    );
  }
  const topology = json.modelTopology as Record<string, unknown>;
  return {
    artifacts: {
      modelTopology: topology,
      format: 'layers-model',
      weightSpecs: specs,
      weightData: concat(pieces),
    },
    keptLayers: cfg.config.layers.map((l) => (l.name ?? l.config.name) as string),
  };
}

/** Names of the layers feeding `layer` (Keras 2 `inbound_nodes`: [[[name, node, tensor, kwargs], ...], ...]). */
function inboundNames(layer: LayerConfig, source: string): string[] {
  const names: string[] = [];
  for (const node of layer.inbound_nodes ?? []) {
    if (!Array.isArray(node)) throw new Error(`${source}: layer '${layer.name}' has inbound_nodes in an unsupported format`);
    for (const entry of node) {
      if (Array.isArray(entry) && typeof entry[0] === 'string') names.push(entry[0]);
      else throw new Error(`${source}: layer '${layer.name}' has inbound_nodes in an unsupported format`);
    }
  }
  return names;
}

function setInputSize(cfg: GraphConfig, size: number, source: string): void {
  const first = cfg.layers[0];
  const c = first.config;
  const key = ['batch_input_shape', 'batchInputShape', 'batch_shape'].find((k) => Array.isArray(c[k]));
  if (!key) throw new Error(`${source}: cannot set the input size: the first layer '${first.name}' has no batch_input_shape`);
  const shape = c[key] as (number | null)[];
  if (shape.length !== 4) throw new Error(`${source}: cannot set the input size of a ${shape.length - 1}-D input; expected an image input [h, w, c]`);
  if (shape[1] === size && shape[2] === size) return;
  const fixed = cfg.layers.find((l) => SPATIALLY_FIXED.has(l.class_name));
  if (fixed) {
    throw new Error(
      `input size mismatch: ${source} takes ${shape[1]}x${shape[2]} images and layer '${fixed.name}' (${fixed.class_name}) fixes ` +
        `that size, so inputSize ${size} cannot be used; use ${shape[1]} or cut before '${fixed.name}'`,
    );
  }
  c[key] = [shape[0], size, size, shape[3]];
}

function specByteLength(spec: tf.io.WeightsManifestEntry, source: string): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  if (q) return n * (q === 'uint8' ? 1 : 2);
  switch (spec.dtype) {
    case 'float32':
    case 'int32':
      return 4 * n;
    case 'bool':
      return n;
    default:
      throw new Error(`${source}: weight '${spec.name}' has unsupported dtype '${spec.dtype}'`);
  }
}

function concat(pieces: ArrayBuffer[]): ArrayBuffer {
  const total = pieces.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of pieces) {
    out.set(new Uint8Array(p), o);
    o += p.byteLength;
  }
  return out.buffer;
}

/**
 * Builds a LayersModel from pruned artifacts (strict: every weight must be present). `resizedTo`: the new
 * input size when the topology was resized, so that a shape error is reported as an input size problem, unless
 * the weights themselves do not fit the topology (then the layer is named). The caller owns the model.
 */
export async function modelFromArtifacts(artifacts: tf.io.ModelArtifacts, source: string, resizedTo?: number): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    const msg = (err as Error).message;
    const misfit = await weightsMisfit(artifacts);
    if (misfit) throw new Error(`${source}: the weights do not fit the topology: ${misfit}`);
    if (resizedTo !== undefined && /shape|dimension|negative|size/i.test(msg)) {
      throw new Error(`input size mismatch: ${source} cannot run at ${resizedTo}x${resizedTo} (${msg})`);
    }
    throw new Error(`${source}: cannot build the LayersModel: ${msg}`);
  }
}

/**
 * After a failed build: which weight of the manifest does not fit the layer it names (tfjs only says "Shape
 * mismatch: [a] vs. [b]"). Builds the topology alone (initialised weights) and compares; undefined when all fit or
 * the topology itself cannot be built.
 */
async function weightsMisfit(artifacts: tf.io.ModelArtifacts): Promise<string | undefined> {
  let skeleton: tf.LayersModel;
  try {
    skeleton = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.modelTopology }));
  } catch {
    return undefined;
  }
  try {
    const wanted = new Map(skeleton.weights.map((w) => [w.originalName, w.shape]));
    const given = new Set<string>();
    for (const spec of artifacts.weightSpecs ?? []) {
      given.add(spec.name);
      const layer = spec.name.split('/')[0];
      const shape = wanted.get(spec.name);
      if (!shape) return `weightsManifest lists '${spec.name}', a weight no layer of the topology has`;
      if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
        return `layer '${layer}' takes '${spec.name}' of shape [${shape.join(', ')}], but weightsManifest gives it shape [${spec.shape.join(', ')}]`;
      }
    }
    const missing = [...wanted.keys()].find((name) => !given.has(name));
    return missing ? `layer '${missing.split('/')[0]}' needs '${missing}', which weightsManifest does not list` : undefined;
  } finally {
    skeleton.dispose();
  }
}
