/** Fixtures for the model tests: a tiny MobileNetV2-named base, model folders on disk, a local HTTP server. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { AddressInfo } from 'node:net';

/**
 * A 32x32 MobileNetV2-shaped net with Keras names: stem (Conv1..), block_1 (residual Add), block_2 (stride 2),
 * last_conv (Conv_1, Conv_1_bn, out_relu): [8, 8, 24] at 32 px (total stride 4). Seeded, so every build is equal.
 * Extra `top` adds GAP + Dense as a Keras top would be (to test cutting it away).
 */
export function buildTinyBase(options: { top?: boolean; seed?: number; inputSize?: number } = {}): tf.LayersModel {
  const seed = options.seed ?? 1;
  let n = 0;
  const init = () => tf.initializers.glorotUniform({ seed: seed * 100 + n++ });
  const s = options.inputSize ?? 32;
  const conv = (name: string, filters: number, k: number, strides = 1, padding: 'same' | 'valid' = 'same') =>
    tf.layers.conv2d({ name, filters, kernelSize: k, strides, padding, useBias: false, kernelInitializer: init() });
  const bn = (name: string) =>
    tf.layers.batchNormalization({
      name,
      epsilon: 1e-3,
      momentum: 0.9,
      // Non-trivial statistics, so a change is visible and inference differs from training mode.
      movingMeanInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed * 100 + n++ }),
      movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed * 100 + n++ }),
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.8, maxval: 1.2, seed: seed * 100 + n++ }),
    });
  const relu = (name: string) => tf.layers.reLU({ name, maxValue: 6 });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [s, s, 3], name: 'input_1' });
  let x = apply(tf.layers.zeroPadding2d({ name: 'Conv1_pad', padding: [[0, 1], [0, 1]] }), input);
  x = apply(conv('Conv1', 8, 3, 2, 'valid'), x);
  x = apply(bn('bn_Conv1'), x);
  const stem = apply(relu('Conv1_relu'), x);
  x = apply(conv('block_1_expand', 16, 1), stem);
  x = apply(bn('block_1_expand_BN'), x);
  x = apply(relu('block_1_expand_relu'), x);
  x = apply(tf.layers.depthwiseConv2d({ name: 'block_1_depthwise', kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init() }), x);
  x = apply(bn('block_1_depthwise_BN'), x);
  x = apply(relu('block_1_depthwise_relu'), x);
  x = apply(conv('block_1_project', 8, 1), x);
  x = apply(bn('block_1_project_BN'), x);
  x = apply(tf.layers.add({ name: 'block_1_add' }), [stem, x]);
  x = apply(conv('block_2_expand', 16, 1), x);
  x = apply(bn('block_2_expand_BN'), x);
  x = apply(relu('block_2_expand_relu'), x);
  x = apply(tf.layers.zeroPadding2d({ name: 'block_2_pad', padding: [[0, 1], [0, 1]] }), x);
  x = apply(tf.layers.depthwiseConv2d({ name: 'block_2_depthwise', kernelSize: 3, strides: 2, padding: 'valid', useBias: false, depthwiseInitializer: init() }), x);
  x = apply(bn('block_2_depthwise_BN'), x);
  x = apply(relu('block_2_depthwise_relu'), x);
  x = apply(conv('block_2_project', 12, 1), x);
  x = apply(bn('block_2_project_BN'), x);
  x = apply(conv('Conv_1', 24, 1), x);
  x = apply(bn('Conv_1_bn'), x);
  x = apply(relu('out_relu'), x);
  if (options.top) {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d_1' }), x);
    x = apply(tf.layers.dense({ name: 'predictions', units: 5, activation: 'softmax', kernelInitializer: init() }), x);
  }
  return tf.model({ inputs: input, outputs: x, name: 'tiny_mobilenet' });
}

/** A small non-convolutional-tail model (Flatten + Dense) whose input size cannot change. */
export function buildFlattenModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'in' });
  let x = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'out', units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: 'flatten_model' });
}

/** Writes `model` as model.json + `shards` weight files (a multi-shard manifest like tfjs' converter writes). */
export async function writeModelDir(model: tf.LayersModel, dir: string, shards = 2): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = Buffer.from(Array.isArray(a.weightData) ? tf.io.concatenateArrayBuffers(a.weightData) : a.weightData!);
      const per = Math.ceil(data.length / shards);
      const paths: string[] = [];
      for (let i = 0; i < shards; i++) {
        const name = `group1-shard${i + 1}of${shards}.bin`;
        fs.writeFileSync(path.join(dir, name), data.subarray(i * per, Math.min(data.length, (i + 1) * per)));
        paths.push(name);
      }
      const json = { format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths, weights: a.weightSpecs }] };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** A fresh temp folder, removed by `cleanup`. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rps-model-${prefix}-`));
}

export interface StaticServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Request paths seen so far. */
  requests: string[];
  /** Range header of each request (undefined when none), in the order of `requests`. */
  ranges: (string | undefined)[];
  /** Handlers that replace the static file for a path (a broken mirror); delete an entry to serve the file again. */
  routes: Map<string, (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void>;
  close(): Promise<void>;
}

/** Serves the files under `root` on 127.0.0.1 (GET and HEAD, Range requests answered with 206; 404 otherwise). */
export async function serveDir(root: string): Promise<StaticServer> {
  const requests: string[] = [];
  const ranges: (string | undefined)[] = [];
  const routes: StaticServer['routes'] = new Map();
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(p);
    ranges.push(req.headers.range);
    const file = path.join(root, p);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = fs.readFileSync(file);
    const route = routes.get(p);
    if (route) return route(req, res, body);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && Number(m[1]) < body.length) {
      const start = Number(m[1]);
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    ranges,
    routes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Copies of every weight of `model`, by layer/weight name (for bit-identity checks). Async: webgpu reads device memory only so. */
export async function snapshotWeights(model: tf.LayersModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const layer of model.layers) for (const w of layer.weights) out.set(w.originalName ?? w.name, ((await w.read().data()) as Float32Array).slice());
  return out;
}

/** True when two arrays are bit-identical. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** A deterministic random batch: `n` images of `size`px in [0, 1] and one-hot labels over `classes`. Caller disposes. */
export function randomBatch(n: number, size: number, classes: number, seed = 7): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  return tf.tidy(() => ({
    xs: tf.randomUniform([n, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
    ys: tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % classes), 'int32'), classes).toFloat() as tf.Tensor2D,
  }));
}
