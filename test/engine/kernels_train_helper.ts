import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { buildMobileNetV2 } from '../../lib/model/mobilenet_v2';

/**
 * A small MobileNetV2 (alpha 0.35, Keras layer structure, Dense top) trains ALL its layers with `fit`: the
 * loss on a small fixed batch falls over 20 steps, and every trainable weight (convolutions, depthwise
 * convolutions, BatchNorm gamma/beta, the Dense head) moves. On wasm this runs through the registered
 * gradient kernels; on cpu through tfjs' own.
 */
export async function assertTrainsAllLayers(backend: 'wasm' | 'cpu', inputSize: number, batch: number): Promise<void> {
  await initEngine({ engine: backend, quiet: true });
  const model = buildMobileNetV2({ alpha: 0.35, inputSize, numClasses: 3, seed: 11 });
  model.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([batch, inputSize, inputSize, 3], 0, 1, 'float32', 5);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 3), 'int32'), 3);
  const before = model.trainableWeights.map((w) => w.read().dataSync().slice());
  const movingMeanBefore = model.getLayer('block_16_project_BN').getWeights()[2].dataSync().slice();

  const history = await model.fit(x, y, { epochs: 20, batchSize: batch, shuffle: false, verbose: 0 });
  const losses = history.history.loss as number[];
  assert.equal(losses.length, 20);
  assert.ok(losses.every(Number.isFinite), `${backend}: finite losses ${losses}`);
  const last = Math.min(...losses.slice(-3));
  assert.ok(last < 0.5 * losses[0], `${backend}: loss should fall, got ${losses.map((l) => l.toFixed(3)).join(' ')}`);

  const unchanged = model.trainableWeights.filter((w, i) => w.read().dataSync().every((v, j) => v === before[i][j]));
  assert.deepEqual(unchanged.map((w) => w.name), [], `${backend}: every trainable weight moves`);
  assert.ok(model.trainableWeights.some((w) => w.name.includes('depthwise_kernel')));
  const movingMeanAfter = model.getLayer('block_16_project_BN').getWeights()[2].dataSync();
  assert.notDeepEqual(Array.from(movingMeanAfter), Array.from(movingMeanBefore), 'BN moving mean updates in training');

  // Another epoch leaves no tensors behind.
  const tensors = tf.memory().numTensors;
  await model.fit(x, y, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 });
  assert.equal(tf.memory().numTensors, tensors, `${backend}: fit leaks tensors`);
  tf.dispose([x, y]);
  model.dispose();
}
