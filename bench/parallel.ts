/**
 * Data-parallel training steps (lib/train/parallel.ts): fine-tune step img/s of the MobileNetV2 alpha 1.0 suffix
 * from block_11 (blocks 11..16 + Conv_1 + head, BN in inference mode) at 128 px on cached activations (random,
 * at the block_10 boundary), batch 32, with the batch split over 1 and over 2 parts (this thread + a worker).
 * The first step of each run (worker start, model copy) is left out of the rate; each case runs `rounds` times,
 * alternating, and the best rate counts (the least disturbed by other load). A second row measures how much a
 * second thread helps a plain JS loop at the same time, so a ratio from a busy machine can be read as such.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BenchResult } from './types';
import { initEngine } from '../lib/engine/engine';
import { shutdownWorkerPools } from '../lib/engine/pool';
import { inferBlocks } from '../lib/model/blocks';
import { buildMobileNetV2 } from '../lib/model/mobilenet_v2';
import { cutModelAt } from '../lib/model/cut';
import { buildClassifier, unfreezeFrom } from '../lib/model/surgery';
import type { LoadedBase } from '../lib/model/types';
import { FeatureBatchSource } from '../lib/train/batches';
import { fitOnSource } from '../lib/train/loop';
import { createRng } from '../lib/util/random';

const NAME = 'parallel';
const SIZE = 128;
const BATCH = 32;

function fineTuneSuffix() {
  const model = buildMobileNetV2({ alpha: 1.0, inputSize: SIZE, seed: 1 });
  const blocks = inferBlocks(model.layers.map((l) => ({ name: l.name, className: l.getClassName() })));
  for (const l of model.layers) l.trainable = false;
  const base: LoadedBase = {
    spec: { id: `bench-mnv2-1.0-${SIZE}`, label: 'MobileNetV2 1.0 (random)', inputSize: SIZE, pixelRange: [-1, 1], cutLayer: 'out_relu', provenance: 'random weights (bench)', pretraining: 'nothing (random weights)', blocks, online: false },
    model,
    source: 'memory',
    loadMs: 0,
  };
  const classifier = buildClassifier(base, { numClasses: 3, dropout: 0.2, seed: 1 });
  unfreezeFrom(classifier, base, { from: 'block_11' });
  const pos = blocks.findIndex((b) => b.name === 'block_11');
  const { prefix, suffix } = cutModelAt(classifier, blocks[pos - 1].output);
  prefix.dispose();
  return { suffix, dispose: () => (suffix.dispose(), classifier.dispose(), model.dispose()) };
}

/** Step img/s over the steps after the first. */
async function stepRate(parts: number, steps: number): Promise<number> {
  const { suffix, dispose } = fineTuneSuffix();
  try {
    const sampleShape = suffix.inputs[0].shape.slice(1) as number[];
    const count = BATCH * (steps + 1);
    const per = sampleShape.reduce((a, b) => a * b, 1);
    const rng = createRng(3);
    // Post-ReLU6-like activations: non-negative, a few units large.
    const view = Float32Array.from({ length: count * per }, () => Math.max(0, rng.normal()));
    const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
    const times: number[] = [];
    await fitOnSource(
      suffix,
      { source: new FeatureBatchSource({ views: [view], sampleShape, labels }, 0) },
      {
        phase: 'fine-tune',
        epochs: 1,
        batchSize: BATCH,
        learningRate: 1e-4,
        optimizer: 'rmsprop',
        seed: 0,
        trainWorkers: parts,
        callbacks: { onBatchEnd: () => times.push(performance.now()) },
      },
    );
    return (BATCH * (times.length - 1)) / ((times[times.length - 1] - times[0]) / 1000);
  } finally {
    dispose();
  }
}

// A fixed amount of pure-JS work per thread; the result is how much faster two threads finish two shares than one thread one.
const SPIN = `
const { parentPort } = require('node:worker_threads');
const t = Date.now(); let s = 0; for (let i = 0; i < 3e8; i++) s += i % 7; parentPort.postMessage([Date.now() - t, s]);`;

function spinMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(SPIN, { eval: true });
    w.once('message', (m: [number, number]) => resolve(m[0]));
    w.once('error', reject);
  });
}

/** Two threads' throughput over one thread's for CPU-bound JS, now: about 2 on an idle 2-core machine. */
async function threadHeadroom(): Promise<number> {
  const one = await spinMs();
  const two = await Promise.all([spinMs(), spinMs()]);
  return (2 * one) / Math.max(...two);
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const engine = await initEngine({ quiet: true });
  const steps = opts.quick ? 3 : 8;
  const rounds = opts.quick ? 1 : 2;
  const tensors = tf.memory().numTensors;
  const results: BenchResult[] = [];
  try {
    const tag = `MobileNetV2 1.0 from block_11, ${SIZE}px, batch ${BATCH}, ${engine.engine}`;
    const headroom = await threadHeadroom();
    let one = 0;
    let two = 0;
    for (let r = 0; r < rounds; r++) {
      one = Math.max(one, await stepRate(1, steps));
      two = Math.max(two, await stepRate(2, steps));
    }
    const note = `best of ${rounds} x ${steps} timed steps; 2-thread headroom of this machine at the start: ${headroom.toFixed(2)}x`;
    results.push({ benchmark: NAME, case: `fine-tune step, 1 part (${tag})`, metric: 'throughput', value: one, unit: 'img/s', note });
    results.push({ benchmark: NAME, case: `fine-tune step, 2 parts (${tag})`, metric: 'throughput', value: two, unit: 'img/s', note });
    results.push({ benchmark: NAME, case: `fine-tune step, 2 parts vs 1 (${tag})`, metric: 'ratio', value: two / one, unit: 'x', note });
    results.push({ benchmark: NAME, case: 'two threads vs one, pure-JS loop (machine headroom)', metric: 'ratio', value: headroom, unit: 'x', note: 'about 2 on an idle 2-core machine; lower when other processes hold a core' });
  } finally {
    await shutdownWorkerPools();
  }
  if (tf.memory().numTensors !== tensors) throw new Error(`bench parallel: ${tf.memory().numTensors - tensors} tensors leaked`);
  return results;
}
