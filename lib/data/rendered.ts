/** The rendered (CGI) source: the embedded renderer's output, cached like a download. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDirAtomic } from '../util/atomic';
import { cacheKey, sha256 } from '../util/hash';
import type { RenderSpec } from './types';
import { TFDS_TEST_FOLDER, TFDS_TRAIN_FOLDER } from './tfds';

/** Defaults: the TFDS split sizes and image size. */
export const RENDER_DEFAULTS: Required<RenderSpec> = { train: 2520, test: 372, seed: 0, size: 300 };

/**
 * A fingerprint of the renderer's code (the files in `render/`), so that a changed renderer never serves images
 * rendered by an older one from the cache.
 */
function rendererFingerprint(): string {
  const dir = path.join(__dirname, 'render');
  const files = fs.readdirSync(dir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
  return sha256(files.map((f) => `${f}\n${fs.readFileSync(path.join(dir, f), 'utf8')}`).join('\n'));
}

/** The cache folder for a render spec: `<cacheDir>/rendered-v1-<key of counts, seed, size and renderer code>`. */
export function renderedCacheFolder(cacheDir: string, spec: RenderSpec = {}): string {
  const s = { ...RENDER_DEFAULTS, ...spec };
  return path.join(cacheDir, `rendered-v1-${cacheKey('rendered-v1', s.train, s.test, s.seed, s.size, rendererFingerprint())}`);
}

/**
 * Renders the data set into the cache unless it is there; returns the folder holding `rps/` and `rps-test-set/`.
 * Atomic: a crash mid-render leaves no folder that looks complete.
 */
export async function ensureRenderedData(cacheDir: string, spec: RenderSpec = {}, quiet = false): Promise<string> {
  const s = { ...RENDER_DEFAULTS, ...spec };
  const dir = renderedCacheFolder(cacheDir, s);
  if (fs.existsSync(path.join(dir, TFDS_TRAIN_FOLDER)) && fs.existsSync(path.join(dir, TFDS_TEST_FOLDER))) return dir;
  if (!quiet) console.log(`rendering ${s.train} + ${s.test} CGI hand images (${s.size} px, seed ${s.seed}) into ${dir}`);
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
    const res = await renderDataset({ outDir: tmp, train: s.train, test: s.test, seed: s.seed, size: s.size, onProgress });
    if (!quiet) console.log(`rendered ${s.train + s.test} images in ${res.seconds.toFixed(1)} s`);
  });
  return dir;
}
