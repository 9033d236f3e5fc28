/**
 * The rendered (CGI) sources: the embedded renderer's output, cached like a download. Every rendered folder
 * carries a manifest of its files and their sizes, checked before the folder is trusted; a damaged one
 * (files deleted, truncated or added) is rendered again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDirAtomic, writeJsonAtomic } from '../util/atomic';
import { cacheKey, sha256 } from '../util/hash';
import { RENDER_DEFAULTS } from './render/defaults';
import { SPLIT_DESIGNS } from './render/params';
import type { RenderOptions } from './render/dataset';
import type { RenderSpec } from './types';
import { TFDS_TEST_FOLDER, TFDS_TRAIN_FOLDER } from './tfds';

export { RENDER_DEFAULTS };

/** Bumped when the folder layout or the manifest changes (v2: split design in the key, manifest). */
const RENDERED_CACHE_VERSION = 'rendered-v2';
const MIX_CACHE_VERSION = 'rendered-mix-v1';
const MANIFEST = 'manifest.json';
/** Below this many images a render stays in this thread. */
const PARALLEL_MIN_IMAGES = 32;

/**
 * A fingerprint of the renderer's code (the files in `render/`), so that a changed renderer never serves images
 * rendered by an older one from the cache.
 */
function rendererFingerprint(): string {
  const dir = path.join(__dirname, 'render');
  const files = fs.readdirSync(dir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
  return sha256(files.map((f) => `${f}\n${fs.readFileSync(path.join(dir, f), 'utf8')}`).join('\n'));
}

/** The spec with defaults filled in (a field given as undefined takes its default too). */
function resolveSpec(spec: RenderSpec): typeof RENDER_DEFAULTS {
  const given = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as RenderSpec;
  const s = { ...RENDER_DEFAULTS, ...given };
  if (!SPLIT_DESIGNS.includes(s.splitDesign)) {
    throw new Error(`render.splitDesign: expected one of ${SPLIT_DESIGNS.join(', ')}, got ${String(s.splitDesign)}`);
  }
  return s;
}

/** The cache folder for a render spec: `<cacheDir>/rendered-v2-<key of counts, seed, size, split design and renderer code>`. */
export function renderedCacheFolder(cacheDir: string, spec: RenderSpec = {}): string {
  const s = resolveSpec(spec);
  const key = cacheKey(RENDERED_CACHE_VERSION, s.train, s.test, s.seed, s.size, s.splitDesign, rendererFingerprint());
  return path.join(cacheDir, `${RENDERED_CACHE_VERSION}-${key}`);
}

/**
 * Renders the data set into the cache unless a verified copy is there; returns the folder holding `rps/` and
 * `rps-test-set/`. Atomic: a crash mid-render leaves no folder that looks complete.
 */
export async function ensureRenderedData(cacheDir: string, spec: RenderSpec = {}, quiet = false): Promise<string> {
  const s = resolveSpec(spec);
  const dir = renderedCacheFolder(cacheDir, s);
  const what = `${s.train} + ${s.test} CGI hand images (${s.size} px, seed ${s.seed}, ${s.splitDesign} test split)`;
  return ensureRenderedFolder(dir, what, quiet, { train: s.train, test: s.test, seed: s.seed, size: s.size, splitDesign: s.splitDesign }, [
    TFDS_TRAIN_FOLDER,
    TFDS_TEST_FOLDER,
  ]);
}

/** Largest side mixed-in hands are rendered at: bigger user images get them at this size (never upscaled). */
export const MIX_MAX_RENDER = 1024;

/** What `ensureMixImages` renders: images per class, the stored size and the seed. */
export interface MixRenderSpec {
  perClass: number;
  width: number;
  height: number;
  seed: number;
}

/**
 * The rendered hands that `mixRendered` adds to a user's training split: `perClass` images of each pose from
 * the renderer's full variety, rendered at max(300 px, the stored side) (at most 1024) and box-filter
 * downscaled to `width x height`, cached and verified like the data set. Returns the folder of class folders and
 * the stored size.
 */
export async function ensureMixImages(cacheDir: string, spec: MixRenderSpec, quiet = false): Promise<{ folder: string; width: number; height: number }> {
  const size = Math.min(MIX_MAX_RENDER, Math.max(RENDER_DEFAULTS.size, spec.width, spec.height));
  const stored = { width: Math.min(size, spec.width), height: Math.min(size, spec.height) };
  const key = cacheKey(MIX_CACHE_VERSION, spec.perClass, stored, size, spec.seed, rendererFingerprint());
  const dir = path.join(cacheDir, `${MIX_CACHE_VERSION}-${key}`);
  const what = `${spec.perClass} CGI hand images per class (${stored.width}x${stored.height} px, seed ${spec.seed}) to mix into the training split`;
  // The training split of an 'iid' design is the renderer's full variety; no test images.
  const options = { train: 3 * spec.perClass, test: 0, seed: spec.seed, size, splitDesign: 'iid' as const, stored };
  const folder = path.join(await ensureRenderedFolder(dir, what, quiet, options, [TFDS_TRAIN_FOLDER]), TFDS_TRAIN_FOLDER);
  return { folder, ...stored };
}

/** Renders into `dir` (atomically, with a manifest) unless a copy that matches its manifest is there. */
async function ensureRenderedFolder(
  dir: string,
  what: string,
  quiet: boolean,
  options: Omit<RenderOptions, 'outDir' | 'onProgress'>,
  required: string[],
): Promise<string> {
  if (fs.existsSync(dir)) {
    const problem = manifestProblem(dir, required);
    if (!problem) return dir;
    if (!quiet) console.warn(`rendered cache ${dir} is damaged (${problem}); rendering it again`);
  }
  if (!quiet) console.log(`rendering ${what} into ${dir}`);
  // Loaded on demand: sources that never render do not pay for the renderer.
  const { renderDataset } = await import('./render/index');
  await buildDirAtomic(dir, async (tmp) => {
    let lastDecile = 0;
    const onProgress = (done: number, total: number): void => {
      const decile = Math.floor((done / total) * 10);
      if (quiet || decile === lastDecile || done === total) return;
      lastDecile = decile;
      console.log(`rendering: ${done}/${total}`);
    };
    const total = (options.train ?? 0) + (options.test ?? 0);
    // Starting worker threads (each loads the renderer) costs more than a few images take.
    const workers = total < PARALLEL_MIN_IMAGES ? 1 : undefined;
    const res = await renderDataset({ ...options, outDir: tmp, onProgress, workers });
    writeManifest(tmp);
    if (!quiet) console.log(`rendered ${total} images in ${res.seconds.toFixed(1)} s`);
  });
  return dir;
}

/** The manifest: every file under the folder (relative path, bytes), written last. */
interface Manifest {
  version: string;
  files: Record<string, number>;
}

function listFiles(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, abs).split(path.sep).join('/');
    if (rel !== MANIFEST) out[rel] = fs.statSync(abs).size;
  }
  return out;
}

function writeManifest(dir: string): void {
  const manifest: Manifest = { version: RENDERED_CACHE_VERSION, files: listFiles(dir) };
  writeJsonAtomic(path.join(dir, MANIFEST), manifest);
}

/** Why `dir` does not match its manifest (missing, truncated or extra files), or undefined when it does. */
function manifestProblem(dir: string, required: string[]): string | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return 'no readable manifest';
  }
  if (manifest.version !== RENDERED_CACHE_VERSION || typeof manifest.files !== 'object') return 'manifest of another version';
  for (const r of required) if (!fs.existsSync(path.join(dir, r))) return `${r}/ is missing`;
  const actual = listFiles(dir);
  const expected = Object.keys(manifest.files);
  const missing = expected.filter((f) => !(f in actual));
  if (missing.length) return `${missing.length} of ${expected.length} files missing, e.g. ${missing[0]}`;
  const resized = expected.filter((f) => actual[f] !== manifest.files[f]);
  if (resized.length) return `${resized.length} file(s) of the wrong size, e.g. ${resized[0]} (${actual[resized[0]]} bytes, expected ${manifest.files[resized[0]]})`;
  const extra = Object.keys(actual).filter((f) => !(f in manifest.files));
  if (extra.length) return `${extra.length} file(s) not in the manifest, e.g. ${extra[0]}`;
  return undefined;
}
