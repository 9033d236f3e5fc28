/**
 * Loading a base: embedded (offline, from npm), an online Keras ImageNet MobileNet (downloaded once into a
 * cache), or any tfjs LayersModel model.json given by path or URL; then cut, frozen, BN in inference mode.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultDataCacheDir } from '../data/cache-dir';
import { buildDirAtomic } from '../util/atomic';
import { download, mirrorUrl } from '../util/download';
import { sha256 } from '../util/hash';
import {
  assertLayersModelJson,
  modelFromArtifacts,
  pruneModel,
  readModelDir,
  shardPaths,
  topologyInputSize,
  topologyLayers,
  topologyOutputLayer,
  type ModelJson,
  type RawModel,
} from './artifacts';
import { guardBatchNorm } from './batchnorm';
import { detectBlockFamily, inferBlocks } from './blocks';
import { readEmbeddedModel } from './embedded';
import { BASE_ENV, BASE_REGISTRY, DEFAULT_ONLINE_BASE_ID, EMBEDDED_BASE_ID, findBaseEntry, type BaseEntry, type BaseId } from './registry';
import type { BaseSpec, LoadedBase, PixelRange } from './types';

export interface LoadBaseOptions {
  /**
   * `auto` (default, or env `RPS_BASE`): the online ImageNet MobileNetV2 1.00 when cached or reachable, else
   * the embedded one. Or a registry id (`embedded`, `mobilenet_v2_0.35` .. `_1.00`, `mobilenet_v1_0.25` ..
   * `_1.0`), or the path / http(s) URL of any tfjs LayersModel model.json.
   */
  base?: 'auto' | BaseId | (string & {});
  /** Square input size. Default: the base's own (224). Fully convolutional bases take other sizes (multiples of 32 for MobileNets). */
  inputSize?: number;
  /** Cache root; downloaded bases go to `<cacheDir>/bases/<id>/`. Default: env `RPS_CACHE_DIR`, else `<project>/data`. */
  cacheDir?: string;
  /** Mirror base URL that replaces the origin of download URLs. Default: env `RPS_MIRROR`, else none. */
  mirror?: string;
  /** No progress bars or choice line. Default false. */
  quiet?: boolean;
  /** Custom model.json only: the layer to cut at. Default: the model's output layer. */
  cutLayer?: string;
  /** Custom model.json only: the input pixel range. Default [-1, 1] (Keras MobileNet convention). */
  pixelRange?: PixelRange;
  /** `auto`: how long to wait for the online host before using the embedded base, ms. Default 2500. */
  reachTimeoutMs?: number;
}

/** Cache folder of a downloaded base (`cacheDir` default: the data cache, env `RPS_CACHE_DIR` or `<project>/data`). */
export function baseCacheDir(id: string, cacheDir = defaultDataCacheDir()): string {
  return path.join(cacheDir, 'bases', id);
}

/** Loads, cuts and freezes a base. The caller owns `model` (dispose it when done). */
export async function loadBase(options: LoadBaseOptions = {}): Promise<LoadedBase> {
  const choice = options.base ?? process.env[BASE_ENV] ?? 'auto';
  const cacheDir = options.cacheDir ?? defaultDataCacheDir();
  const say = (line: string): void => {
    if (!options.quiet) console.log(line);
  };
  if (choice === 'auto') {
    const entry = findBaseEntry(DEFAULT_ONLINE_BASE_ID)!;
    const cached = fs.existsSync(path.join(baseCacheDir(entry.id, cacheDir), 'model.json'));
    let why: string;
    if (cached || (await reachable(mirrorUrl(entry.url!, options.mirror), options.reachTimeoutMs ?? 2500))) {
      try {
        const base = await loadOnline(entry, cacheDir, options);
        say(`base: ${base.spec.label} [auto: ${cached ? 'cached' : 'downloaded'}] from ${base.source} in ${Math.round(base.loadMs)} ms`);
        return base;
      } catch (err) {
        why = `${entry.id} failed: ${(err as Error).message.split('\n')[0]}`;
      }
    } else {
      why = `${entry.id} is not cached and its host is unreachable`;
    }
    const base = await loadEmbeddedBase(options);
    say(`base: ${base.spec.label} [auto: ${why}] in ${Math.round(base.loadMs)} ms`);
    return base;
  }
  const entry = findBaseEntry(choice);
  let base: LoadedBase;
  if (entry?.id === EMBEDDED_BASE_ID) base = await loadEmbeddedBase(options);
  else if (entry) base = await loadOnline(entry, cacheDir, options);
  else base = await loadCustom(choice, cacheDir, options);
  say(`base: ${base.spec.label} from ${base.source} in ${Math.round(base.loadMs)} ms`);
  return base;
}

async function loadEmbeddedBase(options: LoadBaseOptions): Promise<LoadedBase> {
  const t0 = performance.now();
  const raw = readEmbeddedModel();
  return buildBase(raw, findBaseEntry(EMBEDDED_BASE_ID)!, false, raw.source, options, t0);
}

async function loadOnline(entry: BaseEntry, cacheDir: string, options: LoadBaseOptions): Promise<LoadedBase> {
  const dir = await ensureCached(entry.url!, baseCacheDir(entry.id, cacheDir), entry.id, options);
  const t0 = performance.now();
  return buildBase(readModelDir(path.join(dir, 'model.json')), entry, true, dir, options, t0);
}

async function loadCustom(source: string, cacheDir: string, options: LoadBaseOptions): Promise<LoadedBase> {
  let file: string;
  let online = false;
  if (/^https?:\/\//i.test(source)) {
    const id = `url-${sha256(source).slice(0, 16)}`;
    file = path.join(await ensureCached(source, baseCacheDir(id, cacheDir), id, options), 'model.json');
    online = true;
  } else {
    file = source.startsWith('file://') ? new URL(source).pathname : path.resolve(source);
    if (!fs.existsSync(file)) {
      throw new Error(
        `unknown base '${source}': expected auto, ${BASE_REGISTRY.map((b) => b.id).join(', ')}, or the path or http(s) URL of a model.json`,
      );
    }
  }
  const t0 = performance.now();
  const raw = readModelDir(file);
  const entry: BaseEntry = {
    id: `custom:${source}`,
    label: `custom LayersModel ${source}`,
    inputSize: topologyInputSize(raw.json) ?? 224,
    pixelRange: options.pixelRange ?? [-1, 1],
    cutLayer: options.cutLayer ?? topologyOutputLayer(raw.json),
    provenance: `tfjs LayersModel read from ${source}${raw.json.generatedBy ? ` (generated by ${raw.json.generatedBy})` : ''}`,
    pretraining: 'whatever your model.json was trained on',
    url: source,
  };
  return buildBase(raw, entry, online, raw.source, options, t0);
}

async function buildBase(
  raw: RawModel,
  entry: BaseEntry,
  online: boolean,
  source: string,
  options: LoadBaseOptions,
  t0: number,
): Promise<LoadedBase> {
  if (options.cutLayer !== undefined && !entry.id.startsWith('custom:') && options.cutLayer !== entry.cutLayer) {
    throw new Error(`loadBase: cutLayer is for custom model.json bases; base '${entry.id}' is always cut at '${entry.cutLayer}' (cut further with cutModelAt)`);
  }
  const ownSize = topologyInputSize(raw.json);
  const inputSize = options.inputSize ?? ownSize ?? entry.inputSize;
  const family = detectBlockFamily(topologyLayers(raw.json));
  if (!Number.isInteger(inputSize) || inputSize < 1) throw new Error(`loadBase: inputSize must be a positive integer, got ${inputSize}`);
  if (family !== 'generic' && inputSize % 32 !== 0) {
    throw new Error(`input size mismatch: ${entry.id} is a MobileNet, whose padding layers assume a multiple of 32; got inputSize ${inputSize} (try 96, 128, 160, 192 or 224)`);
  }
  const resized = inputSize !== ownSize ? inputSize : undefined;
  const { artifacts } = pruneModel(raw, { cutLayer: entry.cutLayer, inputSize: resized });
  const model = await modelFromArtifacts(artifacts, raw.source, resized);
  for (const layer of model.layers) {
    layer.trainable = false;
    guardBatchNorm(layer, false);
  }
  const spec: BaseSpec = {
    id: entry.id,
    label: entry.label,
    inputSize,
    pixelRange: entry.pixelRange,
    cutLayer: entry.cutLayer,
    provenance: entry.provenance,
    pretraining: entry.pretraining,
    blocks: inferBlocks(model.layers.map((l) => ({ name: l.name, className: l.getClassName() })), family),
    online,
    url: entry.url,
  };
  return { spec, model, source, loadMs: performance.now() - t0 };
}

/**
 * Downloads model.json and every shard of its manifest (through the mirror) into `dir`, atomically: the
 * folder appears complete or not at all. Returns `dir` at once when it is already there.
 */
export async function ensureCached(url: string, dir: string, label: string, options: Pick<LoadBaseOptions, 'mirror' | 'quiet'>): Promise<string> {
  if (fs.existsSync(path.join(dir, 'model.json'))) return dir;
  const src = mirrorUrl(url, options.mirror);
  await buildDirAtomic(dir, async (tmp) => {
    const jsonFile = path.join(tmp, 'model.json');
    await download(src, jsonFile, { label: `${label} model.json`, quiet: options.quiet });
    let json: ModelJson;
    try {
      json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as ModelJson;
    } catch (err) {
      throw new Error(`${src}: not valid JSON (${(err as Error).message})`);
    }
    assertLayersModelJson(json, src);
    const shards = shardPaths(json);
    for (const [i, p] of shards.entries()) {
      if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) throw new Error(`${src}: weight shard path '${p}' leaves the model folder`);
      const shardUrl = new URL(p, src).toString();
      try {
        await download(shardUrl, path.join(tmp, decodeURIComponent(p)), { label: `${label} shard ${i + 1}/${shards.length}`, quiet: options.quiet });
      } catch (err) {
        throw new Error(`${src}: weight shard '${p}' listed in weightsManifest could not be downloaded from ${shardUrl}: ${(err as Error).message}`);
      }
    }
  });
  return dir;
}

/** True when `url` answers within `timeoutMs` with a success, a redirect, or "HEAD not allowed" (405, 501). */
function reachable(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, { method: 'HEAD', timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 500;
      resolve(status < 400 || status === 405 || status === 501);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
