/**
 * Choosing the TensorFlow.js engine (backend).
 *
 * Order for `auto`: native TensorFlow with a visible GPU (`@tensorflow/tfjs-node-gpu`, CUDA), WebGPU on a
 * hardware adapter (`webgpu` + `@tensorflow/tfjs-backend-webgpu`: Vulkan, Metal or D3D12 through Dawn), native
 * TensorFlow on the CPU (`@tensorflow/tfjs-node`), WebAssembly (`@tensorflow/tfjs-backend-wasm`, SIMD, with the
 * training kernels it lacks registered by `./kernels`), then the pure-JS `cpu` backend. `auto` never takes a
 * software WebGPU adapter (llvmpipe: slower than wasm); an explicit `webgpu` does, and says so.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './kernels/index';
import { describeAdapter, failReadsOnDeviceError, findWebGpuAdapter, registerWebGpuBackend, type GpuAdapterDescription } from './webgpu';

/** The engines, in the order `auto` tries them. */
export const ENGINE_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
/** An engine name as users write it (option `engine`, flag `--engine`, `RPS_ENGINE`). */
export type EngineName = (typeof ENGINE_NAMES)[number];
export type EngineChoice = 'auto' | EngineName;
/** The default engine choice. */
export const DEFAULT_ENGINE: EngineChoice = 'auto';

export interface EngineTraits {
  /** Runs on a GPU device (one per process, created in the main thread only). */
  readonly gpu: boolean;
  /**
   * Its kernels already use the whole machine (every core, or the GPU): work runs in one thread, with one
   * extraction worker and one training part, and no worker thread starts its own copy of the engine.
   */
  readonly ownParallelism: boolean;
}

/** What each engine is, for the code that decides how to spread work over threads. */
export const ENGINE_TRAITS = {
  'tensorflow-gpu': { gpu: true, ownParallelism: true },
  webgpu: { gpu: true, ownParallelism: true },
  tensorflow: { gpu: false, ownParallelism: true },
  wasm: { gpu: false, ownParallelism: false },
  cpu: { gpu: false, ownParallelism: false },
} as const satisfies Record<EngineName, EngineTraits>;

/** Traits of an engine, or of the engine behind a tfjs backend name (`tf.getBackend()`); unknown names run like wasm. */
export function engineTraits(name: string): EngineTraits {
  return (ENGINE_TRAITS as Record<string, EngineTraits>)[name] ?? ENGINE_TRAITS.wasm;
}

/** Environment variable that sets the engine when the option is not given. */
export const ENGINE_ENV = 'RPS_ENGINE';
/** Older name of `RPS_ENGINE`, still read when `RPS_ENGINE` is unset. */
export const ENGINE_ENV_ALIAS = 'RPS_BACKEND';

export interface EngineOptions {
  /** Engine to use. Default: env RPS_ENGINE (or RPS_BACKEND), else `'auto'`. */
  engine?: EngineChoice;
  /** Do not print the one-line summary. Default: false. */
  quiet?: boolean;
}

export interface EngineInfo {
  /** The engine that runs. */
  engine: EngineName;
  /** The tfjs backend name behind it (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  tfBackend: string;
  /** Human-readable details, e.g. `SIMD, 1 thread`; for webgpu the adapter. */
  details: string;
  /** The WebGPU adapter (webgpu only). */
  adapter?: GpuAdapterDescription;
  /** Why each better engine was not used (only for `auto`). */
  skipped: { engine: EngineName; reason: string }[];
  /** The summary line that was printed. */
  summary: string;
}

let current: { choice: EngineChoice; info: EngineInfo } | undefined;

/** Parses an engine choice; throws naming `source` when it is not one of the known names. */
export function parseEngineChoice(value: string, source = 'engine'): EngineChoice {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || (ENGINE_NAMES as readonly string[]).includes(v)) return v as EngineChoice;
  throw new Error(`${source}: unknown engine '${value}'; expected one of auto, ${ENGINE_NAMES.join(', ')}`);
}

/**
 * Selects and initialises the engine. Idempotent: calling it again with the same choice (a re-executed
 * notebook cell) returns the same info and prints nothing. An explicit engine that cannot load throws.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const choice = options.engine ?? engineFromEnv() ?? DEFAULT_ENGINE;
  if (choice !== 'auto') parseEngineChoice(choice);
  if (current && current.choice === choice && tf.getBackend() === current.info.tfBackend) return current.info;

  const skipped: EngineInfo['skipped'] = [];
  const candidates: EngineName[] = choice === 'auto' ? [...ENGINE_NAMES] : [choice];
  for (const engine of candidates) {
    try {
      const { tfBackend, details, adapter } = await tryEngine(engine, choice === 'auto');
      const why = skipped.length ? ` (skipped: ${skipped.map((s) => `${s.engine}: ${s.reason}`).join('; ')})` : '';
      const summary = `engine: ${engine}${details ? ` [${details}]` : ''}${why}`;
      const info: EngineInfo = { engine, tfBackend, details, skipped, summary, ...(adapter ? { adapter } : {}) };
      current = { choice, info };
      if (!options.quiet) console.log(summary);
      return info;
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      if (choice !== 'auto') throw new Error(`engine '${engine}' cannot be used: ${reason}`);
      skipped.push({ engine, reason });
    }
  }
  throw new Error(`no TensorFlow.js engine could be initialised: ${skipped.map((s) => `${s.engine}: ${s.reason}`).join('; ')}`);
}

/** The engine named by RPS_ENGINE (or its older name RPS_BACKEND), if set; throws naming the variable when unknown. */
export function engineFromEnv(env: NodeJS.ProcessEnv = process.env): EngineChoice | undefined {
  for (const name of [ENGINE_ENV, ENGINE_ENV_ALIAS]) {
    const v = env[name];
    if (v) return parseEngineChoice(v, `environment variable ${name}`);
  }
  return undefined;
}

/** The engine chosen by the last `initEngine`, if any. */
export function currentEngine(): EngineInfo | undefined {
  return current?.info;
}

/** Appended where tfjs-node-gpu is installed but cannot run: what it needs, and what else runs on a GPU. */
export const TFJS_NODE_GPU_NEEDS = 'it needs CUDA 11.2 and cuDNN 8.1 exactly; the webgpu engine runs on any Vulkan, Metal or D3D12 GPU without them';

async function tryEngine(engine: EngineName, auto: boolean): Promise<{ tfBackend: string; details: string; adapter?: GpuAdapterDescription }> {
  switch (engine) {
    case 'tensorflow-gpu': {
      loadNative('@tensorflow/tfjs-node-gpu');
      await activate('tensorflow');
      const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
      if (!backend.isUsingGpuDevice) throw new Error(`libtensorflow loaded but sees no GPU: ${TFJS_NODE_GPU_NEEDS}`);
      return { tfBackend: 'tensorflow', details: 'native TensorFlow, GPU' };
    }
    case 'webgpu': {
      const adapter = await findWebGpuAdapter();
      const name = describeAdapter(adapter);
      if (adapter.software && auto) throw new Error(`${name}: auto uses webgpu on hardware adapters only (choose webgpu explicitly to use it)`);
      await registerWebGpuBackend();
      await activate('webgpu');
      failReadsOnDeviceError(tf.backend());
      const details = adapter.software ? `${name}: runs on the CPU, for tests (slower than wasm)` : name;
      return { tfBackend: 'webgpu', details, adapter };
    }
    case 'tensorflow': {
      // tfjs-node-gpu also provides the CPU engine when it is the one installed.
      try {
        loadNative('@tensorflow/tfjs-node');
      } catch (err) {
        try {
          loadNative('@tensorflow/tfjs-node-gpu');
        } catch {
          throw err;
        }
      }
      await activate('tensorflow');
      return { tfBackend: 'tensorflow', details: 'native TensorFlow, CPU' };
    }
    case 'wasm': {
      require('@tensorflow/tfjs-backend-wasm');
      registerWasmTrainingKernels();
      await activate('wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      // Threads are off in Node (tfjs #3830); separate worker_threads give the parallelism instead.
      return { tfBackend: 'wasm', details: `${simd ? 'SIMD' : 'no SIMD'}, 1 thread` };
    }
    case 'cpu':
      await activate('cpu');
      // tfjs prints an "install tfjs-node" banner on the cpu backend's first write (in every worker too);
      // initEngine already says which engine runs and why the faster ones were skipped.
      (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      return { tfBackend: 'cpu', details: 'pure JavaScript' };
  }
}

function loadNative(pkg: string): void {
  let resolved: string;
  try {
    resolved = require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed`);
  }
  try {
    require(resolved);
  } catch (err) {
    const hint = pkg === '@tensorflow/tfjs-node-gpu' ? `; ${TFJS_NODE_GPU_NEEDS}` : '';
    throw new Error(`${pkg} failed to load: ${(err as Error).message.split('\n')[0]}${hint}`);
  }
}

async function activate(name: string): Promise<void> {
  if (!tf.findBackendFactory(name)) throw new Error(`tfjs backend '${name}' is not registered`);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  await tf.ready();
}
