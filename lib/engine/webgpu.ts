/**
 * The webgpu engine's setup: Dawn's Node binding (npm `webgpu`) provides WebGPU in Node, and
 * `@tensorflow/tfjs-backend-webgpu` runs tfjs on it. Both are optional dependencies. Dawn drives Vulkan
 * (Linux, Windows), Metal (macOS) or D3D12 (Windows); without a GPU, Mesa's llvmpipe Vulkan driver gives a
 * software adapter that runs the same shaders on the CPU (for tests; slower than wasm).
 *
 * Only the main thread creates a device: the GPU engines run their work in one thread (see ENGINE_TRAITS).
 */
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { registerWebGpuAddN } from './kernels/addn_webgpu';

/** What the adapter says about itself, plus our verdict on it. */
export interface GpuAdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (llvmpipe, SwiftShader, WARP), not a GPU. */
  software: boolean;
}

/** The fields of `GPUAdapterInfo` read here (the optional package's types are not needed to compile). */
export interface AdapterInfoFields {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface GpuAdapterLike {
  info?: AdapterInfoFields;
  /** Older spelling of `info.isFallbackAdapter`. */
  isFallbackAdapter?: boolean;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** CPU implementations that do not set `isFallbackAdapter` (Dawn sets it for llvmpipe, older builds may not). */
const SOFTWARE_ADAPTER_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver/i;

/** Whether an adapter is a CPU implementation rather than a GPU. */
export function isSoftwareAdapter(info: AdapterInfoFields): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE_ADAPTER_NAMES.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** One line naming the adapter: vendor, device, hardware or software. */
export function describeAdapter(a: GpuAdapterDescription): string {
  const name = [a.vendor, a.description || a.device || a.architecture].filter(Boolean).join(' ');
  return `${name || 'unnamed adapter'}, ${a.software ? 'software' : 'hardware'} adapter`;
}

// TypeScript (and tslab) compile `import()` to `require()` under CommonJS, and `require()` cannot load an ES
// module on Node 20; a function made at run time keeps the real dynamic import.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

function resolveInstalled(pkg: string): string {
  try {
    return require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed (npm install ${pkg})`);
  }
}

let dawn: Promise<{ gpu: GpuLike; globals: Record<string, unknown> }> | undefined;

/** Loads Dawn once per process; a failed load is retried on the next call. */
function loadDawn(): Promise<{ gpu: GpuLike; globals: Record<string, unknown> }> {
  dawn ??= (async () => {
    if (!isMainThread) throw new Error('webgpu runs in the main thread only (one device per process): train with trainWorkers 1');
    const entry = resolveInstalled('webgpu');
    resolveInstalled('@tensorflow/tfjs-backend-webgpu');
    let mod: DawnModule;
    try {
      mod = (await importEsm(pathToFileURL(entry).href)) as DawnModule;
    } catch (err) {
      throw new Error(`webgpu failed to load: ${(err as Error).message.split('\n')[0]}`);
    }
    return { gpu: mod.create([]), globals: mod.globals };
  })();
  return dawn.catch((err: unknown) => {
    dawn = undefined;
    throw err;
  });
}

/**
 * The adapter tfjs' webgpu backend will get: it asks for a 'high-performance' one (its default), which Dawn
 * answers with a discrete GPU, else an integrated one, else a software adapter. Throws when there is none.
 */
export async function findWebGpuAdapter(): Promise<GpuAdapterDescription> {
  const { gpu } = await loadDawn();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error('no WebGPU adapter (needs a Vulkan, Metal or D3D12 driver; without a GPU, Mesa 25 llvmpipe: see the README)');
  }
  const info = adapter.info ?? {};
  const fields: AdapterInfoFields = { ...pick(info), isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter };
  return {
    vendor: fields.vendor ?? '',
    architecture: fields.architecture ?? '',
    device: fields.device ?? '',
    description: fields.description ?? '',
    software: isSoftwareAdapter(fields),
  };
}

function pick(info: AdapterInfoFields): AdapterInfoFields {
  // GPUAdapterInfo's fields are getters on its prototype: spread would copy none of them.
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
}

/**
 * Makes `navigator.gpu` and the WebGPU globals (GPUBufferUsage, ...) visible to tfjs and registers its webgpu
 * backend. Done only once an adapter was accepted, so a rejected probe leaves the globals as they were.
 */
export async function registerWebGpuBackend(): Promise<void> {
  const { gpu, globals } = await loadDawn();
  const g = globalThis as unknown as Record<string, unknown>;
  if ((g.navigator as { gpu?: unknown } | undefined)?.gpu !== gpu) {
    for (const [k, v] of Object.entries(globals)) if (!(k in g)) g[k] = v;
    // Node 20 has no navigator; newer Node has one without `gpu`.
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  // The package registers its backend on load, only if navigator.gpu exists by then.
  require('@tensorflow/tfjs-backend-webgpu');
  registerWebGpuAddN();
}

interface WatchedBackend {
  device: { addEventListener(type: 'uncapturederror', listener: (event: { error: { message: string } }) => void): void };
  read(dataId: object): Promise<unknown>;
}

const watched = new WeakSet<object>();

/**
 * Makes device errors fail loudly. WebGPU reports an invalid shader or an out-of-memory as an event and drops the
 * work it concerned, and tfjs listens to none of them, so training would go on with wrong numbers. After the first
 * such error every read of a tensor (`data()`, hence every loss and metric) rejects with its message.
 */
export function failReadsOnDeviceError(backend: unknown): void {
  const b = backend as WatchedBackend;
  if (watched.has(b)) return;
  watched.add(b);
  let first: string | undefined;
  b.device.addEventListener('uncapturederror', (event) => {
    first ??= event.error.message.split('\n')[0];
  });
  const read = b.read.bind(b);
  b.read = async (dataId) => {
    const values = await read(dataId);
    if (first !== undefined) throw new Error(`webgpu: the device reported an error, so results since then are invalid: ${first}`);
    return values;
  };
}
