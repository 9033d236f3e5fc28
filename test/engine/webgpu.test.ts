/**
 * The webgpu engine: adapter classification, selection (auto never takes a software adapter), the AddN and
 * device-error fixes, one thread on GPU engines, and the folded prefix on webgpu against the cpu engine.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { ENGINE_NAMES, ENGINE_TRAITS, engineTraits, initEngine } from '../../lib/engine/engine';
import { describeAdapter, failReadsOnDeviceError, isSoftwareAdapter } from '../../lib/engine/webgpu';
import { defaultTrainWorkers } from '../../lib/train/parallel';
import { extractFeatures } from '../../lib/train/extract';
import { loadBase } from '../../lib/model/bases';
import { syntheticPixels } from '../train/helpers';
import { describeWebGpu } from './webgpu_group';

const ROOT = path.resolve(__dirname, '..', '..');

test('adapters: CPU implementations are software, GPUs hardware', () => {
  const software = [
    { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', isFallbackAdapter: true },
    { vendor: 'mesa', device: 'llvmpipe', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    { vendor: 'google', description: 'SwiftShader Device (Subzero)' },
    { vendor: 'microsoft', description: 'Microsoft Basic Render Driver' },
  ];
  const hardware = [
    { vendor: 'nvidia', architecture: 'ampere', device: 'NVIDIA GeForce RTX 3080', description: 'NVIDIA: 535.54', isFallbackAdapter: false },
    { vendor: 'amd', architecture: 'rdna-2', description: 'AMD Radeon RX 6800 (RADV NAVI21)' },
    { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) UHD Graphics 770' },
    { vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' },
  ];
  for (const a of software) assert.equal(isSoftwareAdapter(a), true, JSON.stringify(a));
  for (const a of hardware) assert.equal(isSoftwareAdapter(a), false, JSON.stringify(a));
  const llvmpipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7', software: true };
  assert.equal(describeAdapter(llvmpipe), 'mesa llvmpipe: Mesa 25.0.7, software adapter');
  assert.equal(describeAdapter({ vendor: 'nvidia', architecture: 'ampere', device: 'RTX 3080', description: '', software: false }), 'nvidia RTX 3080, hardware adapter');
});

test('ENGINE_TRAITS: every engine once; the GPU and native engines keep their work in one thread', () => {
  assert.deepEqual(Object.keys(ENGINE_TRAITS).sort(), [...ENGINE_NAMES].sort());
  assert.deepEqual(ENGINE_NAMES.filter((e) => ENGINE_TRAITS[e].gpu), ['tensorflow-gpu', 'webgpu']);
  assert.deepEqual(ENGINE_NAMES.filter((e) => ENGINE_TRAITS[e].ownParallelism), ['tensorflow-gpu', 'webgpu', 'tensorflow']);
  assert.equal(engineTraits('webgl').ownParallelism, false, 'an unknown tfjs backend is scheduled like wasm');
});

test('after a device error every read rejects with its message (WebGPU reports errors as events only)', async () => {
  const device = new EventTarget();
  const backend = { device, read: async () => new Float32Array([1]) };
  failReadsOnDeviceError(backend);
  failReadsOnDeviceError(backend);
  assert.deepEqual(await backend.read(), new Float32Array([1]));
  const event = Object.assign(new Event('uncapturederror'), { error: { message: 'The number of storage buffers (21) exceeds the limit (8).\n - While ...' } });
  device.dispatchEvent(event);
  await assert.rejects(backend.read(), /webgpu: the device reported an error, so results since then are invalid: The number of storage buffers \(21\) exceeds the limit \(8\)\.$/);
});

test('tfjs-node-gpu installed but not loading: the reason says what it needs and names webgpu', (t) => {
  try {
    require.resolve('@tensorflow/tfjs-node-gpu');
    t.skip('@tensorflow/tfjs-node-gpu is really installed here');
    return;
  } catch {
    // A stand-in found through NODE_PATH fails as the real one does on a CUDA 12 machine.
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-fake-gpu-'));
  try {
    const pkg = path.join(dir, '@tensorflow', 'tfjs-node-gpu');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node-gpu', main: 'index.js' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), "throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');\n");
    const code = "require('./lib/engine/engine').initEngine({ engine: 'auto', quiet: true }).then((i) => console.log(JSON.stringify(i.skipped)));";
    const run = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', '-e', code], {
      cwd: ROOT,
      env: { ...process.env, NODE_PATH: dir, RPS_ENGINE: '', RPS_BACKEND: '' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const skipped = JSON.parse(run.stdout.trim().split('\n').pop() ?? '[]') as { engine: string; reason: string }[];
    const gpu = skipped.find((s) => s.engine === 'tensorflow-gpu');
    assert.match(gpu?.reason ?? '', /failed to load: libcudart\.so\.11\.0.*CUDA 11\.2 and cuDNN 8\.1.*webgpu engine/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describeWebGpu('webgpu engine', () => {
  test('an explicit webgpu names its adapter, and says when it is a software one', async () => {
    const info = await initEngine({ engine: 'webgpu', quiet: true });
    assert.equal(info.engine, 'webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.ok(info.adapter, 'the info carries the adapter');
    assert.ok(info.summary.includes(describeAdapter(info.adapter)), info.summary);
    if (info.adapter.software) assert.match(info.summary, /software adapter: runs on the CPU, for tests/);
  });

  test('auto never picks a software adapter', async () => {
    const webgpu = await initEngine({ engine: 'webgpu', quiet: true });
    const auto = await initEngine({ engine: 'auto', quiet: true });
    if (webgpu.adapter?.software) {
      assert.notEqual(auto.engine, 'webgpu');
      const reason = auto.skipped.find((s) => s.engine === 'webgpu')?.reason ?? '';
      assert.match(reason, /software adapter: auto uses webgpu on hardware adapters only/);
    } else {
      assert.ok(['tensorflow-gpu', 'webgpu'].includes(auto.engine), `auto took ${auto.engine} over a hardware adapter`);
    }
    await initEngine({ engine: 'webgpu', quiet: true });
  });

  test('AddN of more tensors than a shader can bind sums right and leaks nothing', async () => {
    await initEngine({ engine: 'webgpu', quiet: true });
    const xs = Array.from({ length: 20 }, (_, i) => tf.fill([3, 5], i + 1));
    const before = tf.memory().numTensors;
    for (let round = 0; round < 2; round++) {
      const sum = tf.addN(xs);
      assert.deepEqual(Array.from(await sum.data()), new Array(15).fill(210));
      sum.dispose();
      assert.equal(tf.memory().numTensors, before);
    }
    tf.dispose(xs);
  });

  test('one thread: one training part by default, extraction in this thread whatever is asked, no device in a worker', async () => {
    await initEngine({ engine: 'webgpu', quiet: true });
    assert.equal(defaultTrainWorkers(), 1);
    const worker = new Worker(
      `require(${JSON.stringify(require.resolve('ts-node'))}).register({ transpileOnly: true });
       require(${JSON.stringify(path.join(ROOT, 'lib/engine/engine.ts'))}).initEngine({ engine: 'webgpu', quiet: true })
         .then(() => require('node:worker_threads').parentPort.postMessage('started'), (e) => require('node:worker_threads').parentPort.postMessage(e.message));`,
      { eval: true },
    );
    const reply = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.match(reply, /engine 'webgpu' cannot be used: webgpu runs in the main thread only/);
  });

  test('the folded embedded base on webgpu gives the unfolded numbers of the cpu engine, leaking nothing', async () => {
    // The reference first: tfjs moves tensors off webgpu with a synchronous read, which Node cannot do.
    await initEngine({ engine: 'cpu', quiet: true });
    const base = await loadBase({ base: 'embedded', inputSize: 32, quiet: true });
    const px = syntheticPixels(10, 32, 2);
    const input = { pixels: px.pixels, count: px.count, size: px.size, range: [-1, 1] as [number, number] };
    const want = await extractFeatures(base.model, input, { workers: 1, fold: false });
    await initEngine({ engine: 'webgpu', quiet: true });
    const first = await extractFeatures(base.model, input, { workers: 4 });
    const before = tf.memory().numTensors;
    const again = await extractFeatures(base.model, input, { workers: 4, batchSize: 3 });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(first.shape, want.shape);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < want.data.length; i++) {
      diff = Math.max(diff, Math.abs(first.data[i] - want.data[i]), Math.abs(again.data[i] - want.data[i]));
      scale = Math.max(scale, Math.abs(want.data[i]));
    }
    assert.ok(scale > 0.01, 'the features are not all zero');
    assert.ok(diff / scale < 1e-4, `relative difference ${diff / scale}`);
    base.model.dispose();
  });
});
