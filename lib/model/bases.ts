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
import { replaceDir, sweepStaleTemps } from '../util/atomic';
import { download, mirrorUrl } from '../util/download';
import { sha256, sha256File } from '../util/hash';
import { registerInterruptible } from '../util/interrupt';
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
import { BASE_REGISTRY, DEFAULT_BASE, DEFAULT_ONLINE_BASE_ID, EMBEDDED_BASE_ID, findBaseEntry, type BaseEntry, type BaseId } from './registry';
import type { BaseSpec, LoadedBase, PixelRange } from './types';

export interface LoadBaseOptions {
  /**
   * `auto` (`DEFAULT_BASE`): the online ImageNet MobileNetV2 1.00 when cached or reachable, else
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
  const choice = options.base ?? DEFAULT_BASE;
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
  return buildBase(readCachedModel(dir), entry, true, dir, options, t0);
}

/** `readModelDir` of a cached base; an error says which folder to delete. */
function readCachedModel(dir: string): RawModel {
  try {
    return readModelDir(path.join(dir, 'model.json'));
  } catch (err) {
    throw new Error(`${(err as Error).message} (cached base ${dir}: delete that folder to download it again)`);
  }
}

async function loadCustom(source: string, cacheDir: string, options: LoadBaseOptions): Promise<LoadedBase> {
  let file: string;
  let online = false;
  if (/^https?:\/\//i.test(source)) {
    const id = `url-${sha256(source).slice(0, 16)}`;
    file = await ensureCached(source, baseCacheDir(id, cacheDir), id, options);
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
  const raw = online ? readCachedModel(file) : readModelDir(file);
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

/** In a cached base's folder: the size and SHA-256 of each of its files, recorded when it was downloaded. */
export const BASE_INTEGRITY_FILE = 'integrity.json';

interface IntegrityRecord {
  version: 1;
  url: string;
  files: Record<string, { size: number; sha256: string }>;
}

/**
 * Makes sure the base at `url` (model.json and every shard of its manifest, through the mirror) is in `dir`, verified,
 * and returns `dir`. A cached copy is checked against its integrity record (size and SHA-256 of every file); a
 * damaged one is downloaded again, and if that fails the error names the folder to delete. A download goes to
 * `.<id>.download/` beside `dir` and resumes there after an interruption; its shards must hold exactly the bytes the
 * manifest describes and finite, sane weights (`readModelDir`) before the folder is renamed into place, so a bad
 * mirror leaves nothing cached.
 */
export async function ensureCached(url: string, dir: string, label: string, options: Pick<LoadBaseOptions, 'mirror' | 'quiet'>): Promise<string> {
  // Temporary folders of older versions and of stopped processes go (the resumable download folders stay).
  sweepStaleTemps(path.dirname(dir));
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    await downloadBase(url, dir, label, options);
    return dir;
  }
  const problem = await cachedBaseProblem(dir, url);
  if (!problem) return dir;
  if (!options.quiet) console.warn(`cached base ${dir} is damaged (${problem}); downloading it again`);
  try {
    await downloadBase(url, dir, label, options);
  } catch (err) {
    throw new Error(`cached base ${dir} is damaged (${problem}) and downloading it again failed: ${(err as Error).message}; delete ${dir} and run again`);
  }
  return dir;
}

/** Why the cached base in `dir` cannot be trusted, or undefined. A cache from before integrity records is checked, then recorded. */
async function cachedBaseProblem(dir: string, url: string): Promise<string | undefined> {
  const recordFile = path.join(dir, BASE_INTEGRITY_FILE);
  if (!fs.existsSync(recordFile)) {
    try {
      readModelDir(path.join(dir, 'model.json'));
    } catch (err) {
      return (err as Error).message;
    }
    await writeIntegrityRecord(dir, url);
    return undefined;
  }
  let record: IntegrityRecord;
  try {
    record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as IntegrityRecord;
  } catch {
    return `${BASE_INTEGRITY_FILE} is not valid JSON`;
  }
  for (const [name, want] of Object.entries(record.files ?? {})) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) return `${name} is missing`;
    const size = fs.statSync(file).size;
    if (size !== want.size) return `${name} holds ${size} bytes, ${want.size} when downloaded`;
    if ((await sha256File(file)) !== want.sha256) return `${name} changed since it was downloaded: its SHA-256 differs from the recorded one`;
  }
  return undefined;
}

/** Records the size and SHA-256 of model.json and every shard in `dir`. */
async function writeIntegrityRecord(dir: string, url: string): Promise<void> {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelJson;
  const record: IntegrityRecord = { version: 1, url, files: {} };
  for (const name of ['model.json', ...shardPaths(json).map((p) => decodeURIComponent(p))]) {
    const file = path.join(dir, name);
    record.files[name] = { size: fs.statSync(file).size, sha256: await sha256File(file) };
  }
  fs.writeFileSync(path.join(dir, BASE_INTEGRITY_FILE), JSON.stringify(record, null, 2) + '\n');
}

/** Downloads (resuming) into the staging folder, verifies, records the hashes, then renames it to `dir`. */
async function downloadBase(url: string, dir: string, label: string, options: Pick<LoadBaseOptions, 'mirror' | 'quiet'>): Promise<void> {
  const src = mirrorUrl(url, options.mirror);
  const staging = path.join(path.dirname(dir), `.${path.basename(dir)}.download`);
  fs.mkdirSync(staging, { recursive: true });
  const done = registerInterruptible({ path: staging, action: 'keep', note: () => `${(folderBytes(staging) / 1e6).toFixed(1)} MB; the download resumes on the next run` });
  try {
    const jsonFile = path.join(staging, 'model.json');
    // The small model.json is always fetched afresh; shards completed by an earlier attempt are kept.
    fs.rmSync(jsonFile, { force: true });
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
      const dest = path.join(staging, decodeURIComponent(p));
      if (fs.existsSync(dest)) continue;
      const shardUrl = new URL(p, src).toString();
      try {
        await download(shardUrl, dest, { label: `${label} shard ${i + 1}/${shards.length}`, quiet: options.quiet });
      } catch (err) {
        throw new Error(`${src}: weight shard '${p}' listed in weightsManifest could not be downloaded from ${shardUrl}: ${(err as Error).message}`);
      }
    }
    try {
      readModelDir(jsonFile);
    } catch (err) {
      // Wrong bytes: start afresh next time rather than resume them.
      fs.rmSync(staging, { recursive: true, force: true });
      throw new Error(`${src}: the downloaded files are unusable, nothing was cached: ${(err as Error).message.replaceAll(staging + path.sep, '')}`);
    }
    await writeIntegrityRecord(staging, url);
    replaceDir(staging, dir);
  } finally {
    done();
  }
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  return total;
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
