/**
 * Side by side with a PyTorch peer, in one run on the same machine: the Keras transfer-learning recipe written
 * plainly in PyTorch (`../shared/peer/keras_recipe_torch.py`, Debian python3-torch, run with /usr/bin/python3).
 *
 * 1. Feature extraction: MobileNetV2 alpha 1.0 at 160 px (random weights on both sides: same compute), ours =
 *    `extractFeatures` (folded, worker threads) vs the peer's `features` forward (eval, no_grad, batch 32).
 * 2. Fine-tune step: one training step of block_11 .. Conv_1 + head (BN in inference mode, RMSprop) on the
 *    activations entering block_11 ([10, 10, 96] at 160 px), batch 32, on both sides.
 * 3. End to end: the whole two-phase recipe (10 head epochs + 10 fine-tune epochs from block_11, 2520 / 372
 *    images at 160 px) on the same rendered images: ours = `runPipeline`, the peer = its script with --data.
 *    The images are rendered before either clock starts; our pixel and activation caches start cold.
 * Each comparison is reported as a ratio. --quick: 64 images, 3 steps, 256 / 64 images and 2 + 2 epochs.
 * The peer runs twice: as is, and with glibc's allocator told to keep freed memory (`TUNED_ALLOCATOR`). Here,
 * as is, glibc gives every tensor over 32 MB fresh pages from mmap and returns them on free, so PyTorch's
 * large early activations page-fault on every use; the tuned run shows what PyTorch does without that.
 * Installs nothing: without torch it prints how to install it and reports nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { BenchResult } from './types';
import { initEngine } from '../lib/engine/engine';
import { buildMobileNetV2 } from '../lib/model/mobilenet_v2';
import { cutModelAt } from '../lib/model/cut';
import { guardAllBatchNorm } from '../lib/model/batchnorm';
import { shutdownExtractionWorkers } from '../lib/train/extract';
import { runPipeline } from '../lib/experiment/pipeline';
import { ensureRenderedData } from '../lib/data/rendered';
import { TFDS_TEST_FOLDER, TFDS_TRAIN_FOLDER } from '../lib/data/tfds';
import { randomPixels, timeExtraction } from './extract';

const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = path.resolve(__dirname, '..', '..', 'shared', 'peer', 'keras_recipe_torch.py');
const INSTALL_HINT = 'apt-get install python3-torch python3-torchvision';
/**
 * glibc malloc settings that keep freed memory in the heap (no mmap per large block, no trimming). On this
 * machine they make PyTorch's MobileNetV2 forward pass about ten times faster; a PyTorch user would get the
 * same from jemalloc or tcmalloc.
 */
const TUNED_ALLOCATOR: Record<string, string> = { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '100000000000', MALLOC_TOP_PAD_: '1000000000' };
const PEER_SETUPS: { name: string; env: Record<string, string> }[] = [
  { name: 'PyTorch', env: {} },
  { name: 'PyTorch, tuned allocator', env: TUNED_ALLOCATOR },
];
const SIZE = 160;
/** The layer whose output enters block_11 (block_10 has no residual add: 64 -> 96 channels). */
const CUT = 'block_10_project_BN';

/** Forward and fine-tune-step throughput of the peer's network, measured the way its script runs it. */
const PEER_MICRO = `
import json, sys, time, torch, torchvision
from torch import nn
img, count, steps, threads = (int(v) for v in sys.argv[1:5])
torch.set_num_threads(threads); torch.manual_seed(0)
base = torchvision.models.mobilenet_v2(weights=None).features
head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, 3))
base.eval()
x = torch.rand(count, 3, img, img) * 2 - 1
def forward():
    with torch.no_grad():
        for i in range(0, count, 32): base(x[i:i + 32])
with torch.no_grad(): base(x[:32])
t = time.perf_counter(); forward(); fwd = count / (time.perf_counter() - t)
FT = 12
for p in base.parameters(): p.requires_grad_(False)
for p in base[FT:].parameters(): p.requires_grad_(True)
opt = torch.optim.RMSprop(list(base[FT:].parameters()) + list(head.parameters()), 1e-5)
with torch.no_grad(): f0 = base[:FT](x[:32])
y = torch.randint(0, 3, (32,)); lossf = nn.CrossEntropyLoss(); head.train()
def step():
    opt.zero_grad(set_to_none=True); loss = lossf(head(base[FT:](f0)), y); loss.backward(); opt.step()
step()
t = time.perf_counter()
for _ in range(steps): step()
ft = 32 * steps / (time.perf_counter() - t)
print(json.dumps(dict(torch=torch.__version__, threads=threads, forward_img_s=fwd, finetune_img_s=ft, fine_tune_input=list(f0.shape))))
`;

/** Why the peer cannot run here, or null when it can. */
export function peerMissing(): string | null {
  if (!fs.existsSync(PEER_SCRIPT)) return `peer script not found at ${PEER_SCRIPT}`;
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found; install Debian's python3 and then: ${INSTALL_HINT}`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return `PyTorch is not importable by ${PYTHON} (${(r.stderr || r.error?.message || '').trim().split('\n').pop()}); install it with: ${INSTALL_HINT}`;
  return null;
}

/** Runs python with a timeout and returns the last JSON line it printed. */
function runPython(args: string[], timeoutS: number, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer: ${path.basename(args[0] === '-c' ? 'micro-benchmark' : args[0])} ran past ${timeoutS} s and was stopped`));
    }, timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0 || !line) reject(new Error(`peer exited with code ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(JSON.parse(line));
    });
  });
}

/**
 * Our fine-tune step: block_11 .. out_relu + GAP + Dropout + Dense(3) of MobileNetV2 1.0, BN in inference mode,
 * RMSprop, on `batch` random activations entering block_11. Returns img/s and the per-kernel times of one step.
 */
export async function timeFineTuneStep(steps: number, batch = 32): Promise<{ imgPerS: number; kernels: [string, number][]; inputShape: number[] }> {
  const base = buildMobileNetV2({ alpha: 1.0, inputSize: SIZE, seed: 0 });
  let x = base.outputs[0];
  x = tf.layers.globalAveragePooling2d({ name: 'bench_pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2, name: 'bench_dropout' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, activation: 'softmax', name: 'bench_logits' }).apply(x) as tf.SymbolicTensor;
  const full = tf.model({ inputs: base.inputs, outputs: x });
  const { prefix, suffix } = cutModelAt(full, CUT);
  guardAllBatchNorm(suffix);
  const optimizer = tf.train.rmsprop(1e-5);
  const inputShape = suffix.inputs[0].shape.slice(1) as number[];
  const f0 = tf.randomUniform([batch, ...inputShape], 0, 2, 'float32', 1);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 3), 'int32'), 3);
  const vars = suffix.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = () =>
    tf.tidy(() => {
      const cost = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(labels, tf.log(tf.clipByValue(suffix.apply(f0, { training: true }) as tf.Tensor, 1e-7, 1))) as tf.Scalar,
        true,
        vars,
      );
      cost!.dataSync();
    });
  try {
    step();
    const profile = await tf.profile(step);
    const byKernel = new Map<string, number>();
    for (const k of profile.kernels) {
      // Ops appear twice in the profile (the op and its kernel); the kernel names carry no '__op' suffix.
      if (k.name.endsWith('__op')) continue;
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
    }
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    const imgPerS = (batch * steps) / ((performance.now() - t0) / 1000);
    return { imgPerS, kernels: [...byKernel.entries()].sort((a, b) => b[1] - a[1]), inputShape };
  } finally {
    tf.dispose([f0, labels]);
    optimizer.dispose();
    prefix.dispose();
    suffix.dispose();
    full.dispose();
  }
}

function ratio(name: string, ours: number, peer: number, unit: string, note: string): BenchResult {
  return { benchmark: 'peer', case: name, metric: 'ratio', value: ours / peer, unit, note };
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const missing = peerMissing();
  if (missing) {
    console.log(`peer benchmark skipped: ${missing}`);
    return [];
  }
  const engine = await initEngine({ engine: process.env.RPS_BACKEND ? undefined : 'wasm', quiet: true });
  const threads = os.availableParallelism();
  const results: BenchResult[] = [];
  const where = `${engine.engine} [${engine.details}], ${threads} cores`;

  // 1 + 2: micro-benchmarks, ours then the peer's.
  const count = opts.quick ? 64 : 256;
  const steps = opts.quick ? 3 : 10;
  const model = buildMobileNetV2({ alpha: 1.0, inputSize: SIZE, seed: 0 });
  let oursFwd: number;
  try {
    oursFwd = (await timeExtraction(model, randomPixels(count, SIZE), { batchSize: 32 })).wall;
  } finally {
    model.dispose();
    await shutdownExtractionWorkers();
  }
  const ft = await timeFineTuneStep(steps);
  const total = ft.kernels.reduce((a, [, ms]) => a + ms, 0);
  const top = ft.kernels.slice(0, 6).map(([k, ms]) => `${k} ${((100 * ms) / total).toFixed(0)}%`).join(', ');
  results.push(
    { benchmark: 'peer', case: `extraction ${SIZE}px MobileNetV2 1.0, ours`, metric: 'throughput', value: oursFwd, unit: 'img/s', note: `${where}, folded, workers` },
    { benchmark: 'peer', case: `fine-tune step block_11+ ${SIZE}px, ours`, metric: 'throughput', value: ft.imgPerS, unit: 'img/s', note: `input ${JSON.stringify(ft.inputShape)}; kernels: ${top}` },
  );
  for (const setup of PEER_SETUPS) {
    const micro = await runPython(['-c', PEER_MICRO, String(SIZE), String(count), String(steps), String(threads)], opts.quick ? 600 : 1800, setup.env);
    const peerFwd = Number(micro.forward_img_s);
    const peerFt = Number(micro.finetune_img_s);
    results.push(
      { benchmark: 'peer', case: `extraction ${SIZE}px MobileNetV2 1.0, ${setup.name} forward`, metric: 'throughput', value: peerFwd, unit: 'img/s', note: `torch ${micro.torch}, ${threads} threads` },
      ratio(`extraction ${SIZE}px, ours / ${setup.name}`, oursFwd, peerFwd, 'x', 'target >= 1.0'),
      { benchmark: 'peer', case: `fine-tune step block_11+ ${SIZE}px, ${setup.name}`, metric: 'throughput', value: peerFt, unit: 'img/s', note: `input ${JSON.stringify(micro.fine_tune_input)}` },
      ratio(`fine-tune step, ours / ${setup.name}`, ft.imgPerS, peerFt, 'x', 'higher is better'),
    );
  }

  // 3: end to end on the same rendered images.
  const nTrain = opts.quick ? 256 : 2520;
  const nTest = opts.quick ? 64 : 372;
  const epochs = opts.quick ? 2 : 10;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-peer-'));
  try {
    const cacheDir = path.join(tmp, 'cache');
    const render = { train: nTrain, test: nTest, seed: 0 };
    const rendered = await ensureRenderedData(cacheDir, render, true);
    const peerData = path.join(tmp, 'peer-data');
    fs.mkdirSync(peerData);
    fs.symlinkSync(path.join(rendered, TFDS_TRAIN_FOLDER), path.join(peerData, 'train'));
    fs.symlinkSync(path.join(rendered, TFDS_TEST_FOLDER), path.join(peerData, 'test'));

    const t0 = performance.now();
    const ours = await runPipeline({
      engine: engine.engine,
      data: 'rendered',
      renderedTrain: nTrain,
      renderedTest: nTest,
      base: 'embedded',
      imageSize: SIZE,
      headEpochs: epochs,
      fineTuneEpochs: epochs,
      fineTuneFrom: 'block_11',
      headLearningRate: 1e-4,
      fineTuneLearningRate: 1e-5,
      headOptimizer: 'adam',
      fineTuneOptimizer: 'rmsprop',
      validationSplit: 0,
      patience: 0,
      cacheDir,
      out: path.join(tmp, 'run'),
      progress: 'silent',
    });
    const oursS = (performance.now() - t0) / 1000;
    await shutdownExtractionWorkers();
    const split = (t: Record<string, number>) =>
      Object.entries(t)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => `${k} ${v.toFixed(0)}s`)
        .join(', ');
    const e2e = `end to end ${nTrain}/${nTest} imgs, ${epochs}+${epochs} epochs`;
    results.push({
      benchmark: 'peer',
      case: `${e2e}, ours`,
      metric: 'time',
      value: oursS,
      unit: 's',
      note: `${split(ours.timings)}; acc ${ours.head.evaluation.accuracy.toFixed(3)} / ${ours.fineTune?.evaluation.accuracy.toFixed(3)}`,
    });
    for (const setup of PEER_SETUPS) {
      const peer = await runPython(
        [PEER_SCRIPT, '--img', String(SIZE), '--epochs', String(epochs), '--ft-epochs', String(epochs), '--data', peerData],
        opts.quick ? 900 : 5400,
        setup.env,
      );
      const peerS = Number(peer.total_s);
      results.push(
        {
          benchmark: 'peer',
          case: `${e2e}, ${setup.name}`,
          metric: 'time',
          value: peerS,
          unit: 's',
          note: `load ${peer.load_s}s, head ${peer.head_phase_s}s, fine-tune ${peer.finetune_phase_s}s; acc ${peer.acc_head} / ${peer.acc_ft} (random weights)`,
        },
        ratio(`end to end, ours / ${setup.name} time`, oursS, peerS, 'x', 'target <= 0.5'),
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}
