/**
 * Engine benchmark: MobileNetV2 (alpha 1.0, random weights, Keras layer structure) forward images/s and full
 * training-step images/s (`fit`, all layers trainable, Adam, BatchNorm in training mode) on wasm, cpu and webgpu,
 * at 128 and 224 px, batch 32; and the ratio of a training step's time to a forward pass's, per image. A software
 * WebGPU adapter (llvmpipe: the GPU code run by the CPU) is marked in the case name: it says nothing about a GPU.
 *
 * Each case runs in its own process: a fresh wasm heap for each (so one case's memory does not weigh on the
 * next), and a case that runs out of wasm memory cannot take the others down. wasm's heap is at most 4 GB
 * and tfjs keeps every activation and every activation's gradient until a step's backward pass ends, so a
 * training step that does not fit at batch 32 is retried at 16, 8, ... and the batch used is noted (on webgpu a
 * binding larger than the device allows fails the same way). cpu's training step is timed on a batch of 2 (see below).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { BenchResult } from './types';
import { initEngine } from '../lib/engine/engine';
import { describeAdapter, type GpuAdapterDescription } from '../lib/engine/webgpu';
import { buildMobileNetV2 } from '../lib/model/mobilenet_v2';

type Engine = 'wasm' | 'cpu' | 'webgpu';

interface CaseSpec {
  engine: Engine;
  size: number;
  kind: 'forward' | 'train';
  batch: number;
  /** Timed repetitions (after one untimed warm-up when `warmup`). */
  reps: number;
  warmup: boolean;
}

interface CaseResult {
  seconds: number[];
  batch: number;
  /** The WebGPU adapter (webgpu only). */
  adapter?: GpuAdapterDescription;
}

const RESULT_TAG = 'ENGINE_BENCH_RESULT ';

/** Runs one case in this process: builds the model, warms up, times `reps` forward passes or steps. */
async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const { adapter } = await initEngine({ engine: spec.engine, quiet: true });
  const model = buildMobileNetV2({ alpha: 1.0, inputSize: spec.size, numClasses: 3, seed: 1 });
  const x = tf.randomUniform([spec.batch, spec.size, spec.size, 3], 0, 1, 'float32', 2);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: spec.batch }, (_, i) => i % 3), 'int32'), 3);
  let once: () => Promise<void>;
  if (spec.kind === 'forward') {
    once = async () => {
      const out = model.predict(x) as tf.Tensor;
      await out.data();
      out.dispose();
    };
  } else {
    model.compile({ optimizer: tf.train.adam(1e-4), loss: 'categoricalCrossentropy' });
    once = async () => {
      await model.fit(x, y, { epochs: 1, batchSize: spec.batch, shuffle: false, verbose: 0 });
    };
  }
  if (spec.warmup) await once();
  const seconds: number[] = [];
  for (let i = 0; i < spec.reps; i++) {
    const t0 = performance.now();
    await once();
    seconds.push((performance.now() - t0) / 1000);
  }
  return { seconds, batch: spec.batch, adapter };
}

/** Runs a case in a child process; undefined when it failed (e.g. out of wasm memory). */
function runCaseIsolated(spec: CaseSpec): { result?: CaseResult; error?: string } {
  const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith(RESULT_TAG));
  if (child.status === 0 && line) return { result: JSON.parse(line.slice(RESULT_TAG.length)) as CaseResult };
  const lines = `${child.stderr}`.trim().split('\n');
  const why = lines.find((l) => /memory|Aborted|Error/.test(l)) ?? lines[lines.length - 1] ?? `exit ${child.status}`;
  return { error: why.trim().slice(0, 200) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const sizes = opts.quick ? [128] : [128, 224];
  const results: BenchResult[] = [];
  for (const engine of ['wasm', 'cpu', 'webgpu'] as Engine[]) {
    for (const size of sizes) {
      // cpu is ~20x slower: a single timed pass, no warm-up (its per-image cost hardly depends on warm-up).
      const reps = engine === 'cpu' || opts.quick ? 1 : 3;
      // webgpu compiles each shader on first use.
      const warmup = engine !== 'cpu';
      const fwd = runCaseIsolated({ engine, size, kind: 'forward', batch: 32, reps, warmup });
      if (!fwd.result) {
        results.push({ benchmark: 'engine', case: `${engine} ${size}px forward`, metric: 'throughput', value: NaN, unit: 'img/s', note: `failed: ${fwd.error}` });
        continue;
      }
      const adapter = fwd.result.adapter;
      const label = `${engine}${adapter?.software ? ' (software adapter)' : ''} ${size}px`;
      const on = adapter ? `; ${describeAdapter(adapter)}` : '';
      const fwdPerImage = median(fwd.result.seconds) / fwd.result.batch;
      results.push({ benchmark: 'engine', case: `${label} forward`, metric: 'throughput', value: 1 / fwdPerImage, unit: 'img/s', note: `batch 32, ${reps} timed${on}` });

      // cpu's own gradient kernels are plain loops (a step costs ~50x its forward per image): one step of 2
      // images keeps the bench within minutes; its per-image cost hardly depends on the batch.
      const batches = engine === 'cpu' ? [2] : [32, 16, 8, 4, 2];
      let train: CaseResult | undefined;
      const failures: string[] = [];
      for (const batch of batches) {
        const attempt = runCaseIsolated({ engine, size, kind: 'train', batch, reps, warmup });
        if (attempt.result) {
          train = attempt.result;
          break;
        }
        failures.push(`batch ${batch}: ${attempt.error}`);
      }
      if (!train) {
        results.push({ benchmark: 'engine', case: `${label} train step`, metric: 'throughput', value: NaN, unit: 'img/s', note: `failed: ${failures.join('; ')}` });
        continue;
      }
      const trainPerImage = median(train.seconds) / train.batch;
      const note =
        train.batch === 32
          ? `batch 32, ${reps} timed`
          : engine === 'wasm'
            ? `batch ${train.batch}: larger batches exceed the 4 GB wasm heap`
            : engine === 'webgpu'
              ? `batch ${train.batch}: larger ones failed (${failures[0]})`
              : `batch ${train.batch}: cpu training is slow, one short step`;
      results.push({ benchmark: 'engine', case: `${label} train step`, metric: 'throughput', value: 1 / trainPerImage, unit: 'img/s', note });
      results.push({ benchmark: 'engine', case: `${label} train step / forward`, metric: 'time ratio', value: trainPerImage / fwdPerImage, unit: 'x', note: 'per image; forward = inference mode' });
    }
  }
  return results;
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2] ?? '') as CaseSpec;
  runCase(spec).then(
    (r) => {
      process.stdout.write(`${RESULT_TAG}${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(`Error: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
