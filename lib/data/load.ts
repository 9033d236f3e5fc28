/**
 * `loadDataset`: one entry point for every source (TFDS download, rendered CGI set, a user's folder or zip),
 * returning train and test `Dataset`s with the same shape.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDirAtomic, sweepStaleTemps } from '../util/atomic';
import { cacheKey } from '../util/hash';
import { extractZip } from '../util/zip';
import { defaultDataCacheDir } from './cache-dir';
import { isTfdsLayout, scanClassFolders, unwrapSingleFolder } from './folder';
import { checkMixCount, DEFAULT_MIX_RENDERED, mixRenderedInto } from './mix';
import { HAND_POSES } from './render/params';
import { ensureRenderedData, RENDER_DEFAULTS } from './rendered';
import { splitIndices } from './split';
import { NetworkUnreachableError } from '../util/download';
import { ensureTfdsData, tfdsCacheFolder, tfdsCached, TFDS_TEST_FOLDER, TFDS_TRAIN_FOLDER, type TfdsFilesOverride } from './tfds';
import type { Dataset, DataSourceKind, DataSplits, RenderSpec } from './types';

/** What `data` may name besides a folder or zip. */
export const DATA_CHOICES = ['auto', 'tfds', 'rendered'] as const;
/** TFDS when cached or downloadable, else the rendered set. */
export const DEFAULT_DATA = 'auto';

export interface LoadDataOptions {
  /**
   * `auto` (TFDS when cached or downloadable, else the rendered set), `tfds`, `rendered`, or the path of a folder
   * or zip laid out as `<class>/<image>` (or holding `rps/` and `rps-test-set/`). Default `DEFAULT_DATA`.
   */
  data?: (typeof DATA_CHOICES)[number] | (string & {});
  /** Where downloads, extractions and renders go. Default: env RPS_CACHE_DIR, else `<project>/data`. */
  cacheDir?: string;
  /** Mirror base URL for the TFDS zips. Default: env RPS_DATA_MIRROR, else RPS_MIRROR. */
  mirror?: string;
  /** Own data: a separate test folder (or zip) with the same class folders. Default: a seeded split. */
  testDir?: string;
  /** Own data without `testDir`: the fraction of each class held out as test. Default: 0.2. */
  testFraction?: number;
  /** Seed of that split. Default: 0. */
  seed?: number;
  /** Rendered source: counts, seed, size and split design. Default: 2520 / 372, seed 0, 300 px, shifted test split. */
  render?: RenderSpec;
  /**
   * Real data (a folder, a zip or TFDS) whose classes are among rock / paper / scissors: add this many rendered hands
   * per class to the training split only, brought to the median size of the training images (box-filter downscaled;
   * cached). They are marked `origin: 'rendered'`, so validation can leave them out. `'auto'`: as many per class as
   * the largest class has own training images, when the data is real and its classes are ones the renderer draws
   * (else none). Default `DEFAULT_MIX_RENDERED` (none).
   */
  mixRendered?: number | 'auto';
  /** No summary or warnings printed (they are still returned). Default: false. */
  quiet?: boolean;
  /** Override the TFDS URLs, sizes and hashes (tests, private copies). */
  tfdsFiles?: TfdsFilesOverride;
}

/**
 * Hosts found unreachable in this process, so that re-running a notebook cell offline does not wait for the
 * network again (a blackholed host costs a timeout); retried after a few minutes.
 */
const offlineMemo = new Map<string, { at: number; reason: string }>();
const OFFLINE_RETRY_MS = 5 * 60 * 1000;

/** Loads the train and test splits of the chosen source and prints a summary (unless quiet). */
export async function loadDataset(options: LoadDataOptions = {}): Promise<DataSplits> {
  const source = options.data ?? DEFAULT_DATA;
  const cacheDir = path.resolve(options.cacheDir ?? defaultDataCacheDir());
  const quiet = options.quiet ?? false;
  // An extraction or render stopped by a kill left a temporary folder: it goes now, not only at the next build.
  sweepStaleTemps(cacheDir);
  const tfdsOptions = { cacheDir, mirror: options.mirror, files: options.tfdsFiles, quiet };
  const notes: string[] = [];
  // Printed at once: the user should know why a render starts before it runs.
  const note = (message: string): void => {
    notes.push(message);
    if (!quiet) console.warn(message);
  };
  const mixAsked = options.mixRendered ?? DEFAULT_MIX_RENDERED;
  if (mixAsked !== 'auto') checkMixCount(mixAsked);
  if (mixAsked !== 'auto' && mixAsked > 0 && source === 'rendered') {
    throw new Error("mixRendered adds rendered hands to real data; with data 'rendered' every image is rendered already");
  }
  let splits: Omit<DataSplits, 'summary'>;
  if (source === 'tfds') {
    splits = fromTfdsRoot(await ensureTfdsData(tfdsOptions), 'tfds', 'rock_paper_scissors', false);
  } else if (source === 'rendered') {
    splits = fromTfdsRoot(await ensureRenderedData(cacheDir, options.render, quiet), 'rendered', 'rock_paper_scissors (rendered)', false);
  } else if (source === 'auto') {
    let root: string | undefined;
    const probeKey = tfdsCacheFolder(tfdsOptions);
    const recent = offlineMemo.get(probeKey);
    if (tfdsCached(tfdsOptions)) {
      root = await ensureTfdsData(tfdsOptions);
    } else if (recent && Date.now() - recent.at < OFFLINE_RETRY_MS) {
      note(`TFDS rock_paper_scissors still unavailable (${recent.reason}); using the rendered CGI data set (data: 'rendered').`);
    } else {
      try {
        root = await ensureTfdsData(tfdsOptions);
      } catch (err) {
        const reason = (err as Error).message;
        if (err instanceof NetworkUnreachableError) offlineMemo.set(probeKey, { at: Date.now(), reason: `cannot reach ${err.host}` });
        note(`TFDS rock_paper_scissors unavailable: ${reason}. Falling back to the rendered CGI data set (data: 'rendered').`);
      }
    }
    splits = root
      ? fromTfdsRoot(root, 'tfds', 'rock_paper_scissors', false)
      : fromTfdsRoot(await ensureRenderedData(cacheDir, options.render, quiet), 'rendered', 'rock_paper_scissors (rendered)', false);
  } else {
    splits = await fromUserData(source, cacheDir, options);
  }
  const mixRendered = mixAsked === 'auto' ? autoMixCount(splits) : mixAsked;
  if (mixRendered && splits.source === 'rendered') {
    note('mixRendered ignored: the data fell back to the rendered set, which is all rendered already.');
  } else if (mixRendered) {
    const seed = options.render?.seed ?? RENDER_DEFAULTS.seed;
    const { dataset, mix } = await mixRenderedInto(splits.train, { perClass: mixRendered, cacheDir, seed, quiet });
    splits = { ...splits, train: dataset, mix };
  }
  const summary = [...notes, summarize(splits)].join('\n');
  if (!quiet) {
    for (const s of splits.skipped.slice(0, 20)) console.warn(`skipped ${s.file}: ${s.reason}`);
    if (splits.skipped.length > 20) console.warn(`... and ${splits.skipped.length - 20} more skipped file(s)`);
    console.log(summarize(splits));
  }
  return { ...splits, summary };
}

/**
 * `mixRendered: 'auto'`: for real data whose classes the renderer draws, as many rendered hands per class as its
 * largest class has training images (real plus as many rendered hands generalised best to other people's hands,
 * README "Generalization"); none for the rendered set or other classes.
 */
function autoMixCount(splits: Omit<DataSplits, 'summary'>): number {
  if (splits.source === 'rendered' || !splits.train.classes.every((c) => (HAND_POSES as readonly string[]).includes(c))) return 0;
  const counts = splits.train.classes.map((_, k) => splits.train.items.filter((it) => it.label === k).length);
  return Math.max(0, ...counts);
}

function fromTfdsRoot(root: string, source: DataSourceKind, name: string, validate: boolean, cacheDir?: string): Omit<DataSplits, 'summary'> {
  const train = scanClassFolders(path.join(root, TFDS_TRAIN_FOLDER), { split: 'train', source, name, validate, cacheDir });
  const test = scanClassFolders(path.join(root, TFDS_TEST_FOLDER), { split: 'test', source, name, validate, cacheDir, classes: train.dataset.classes });
  return { train: train.dataset, test: test.dataset, source, skipped: [...train.skipped, ...test.skipped] };
}

/** A user folder or zip: the TFDS layout, or `<class>/<image>` with a test folder or a seeded stratified split. */
async function fromUserData(location: string, cacheDir: string, options: LoadDataOptions): Promise<Omit<DataSplits, 'summary'>> {
  const root = await resolveUserRoot(location, cacheDir, 'data', options.quiet ?? false);
  const name = path.basename(location).replace(/\.zip$/i, '');
  if (isTfdsLayout(root)) return fromTfdsRoot(root, 'folder', name, true, cacheDir);
  const all = scanClassFolders(root, { split: 'train', source: 'folder', name, validate: true, cacheDir });
  if (options.testDir) {
    const testRoot = await resolveUserRoot(options.testDir, cacheDir, 'testDir', options.quiet ?? false);
    const test = scanClassFolders(testRoot, { split: 'test', source: 'folder', name, validate: true, cacheDir, classes: all.dataset.classes });
    return { train: all.dataset, test: test.dataset, source: 'folder', skipped: [...all.skipped, ...test.skipped] };
  }
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`testFraction: expected a number in (0, 1), got ${fraction}`);
  const labels = all.dataset.items.map((it) => it.label);
  const { a, b } = splitIndices(labels, { fraction, seed: options.seed ?? 0, stratified: true });
  assertEveryClassSplit(all.dataset, a, b, fraction);
  const pick = (idx: number[], split: string): Dataset => ({ ...all.dataset, split, items: idx.map((i) => all.dataset.items[i]) });
  return { train: pick(a, 'train'), test: pick(b, 'test'), source: 'folder', skipped: all.skipped };
}

/** A class missing from either side of a split would vanish from training or from the metrics: refuse it. */
function assertEveryClassSplit(ds: Dataset, train: number[], test: number[], fraction: number): void {
  ds.classes.forEach((cls, label) => {
    const count = (idx: number[]): number => idx.filter((i) => ds.items[i].label === label).length;
    const [nTrain, nTest] = [count(train), count(test)];
    if (nTrain && nTest) return;
    throw new Error(
      `cannot split ${ds.root}: class '${cls}' has ${nTrain + nTest} image(s), so testFraction ${fraction} leaves it with no ` +
        `${nTest ? 'training' : 'test'} image; add images to ${path.join(ds.root, cls)} or give a separate testDir`,
    );
  });
}

/** A folder is used in place; a zip is extracted once into the cache (keyed by its path, size and mtime). */
async function resolveUserRoot(location: string, cacheDir: string, what: string, quiet: boolean): Promise<string> {
  const abs = path.resolve(location);
  if (!fs.existsSync(abs)) throw new Error(`${what}: no such folder or zip: ${abs}`);
  const st = fs.statSync(abs);
  if (st.isDirectory()) return unwrapSingleFolder(abs);
  if (!/\.zip$/i.test(abs)) throw new Error(`${what}: expected a folder or a .zip file, got ${abs}`);
  const dir = path.join(cacheDir, `imported-v1-${path.basename(abs, path.extname(abs))}-${cacheKey(abs, st.size, st.mtimeMs)}`);
  if (!fs.existsSync(dir)) {
    if (!quiet) console.log(`extracting ${abs} into ${dir}`);
    await buildDirAtomic(dir, (tmp) => {
      extractZip(abs, tmp);
    });
  }
  return unwrapSingleFolder(dir);
}

function countLine(ds: Dataset): string {
  const counts = ds.classes.map(() => 0);
  for (const it of ds.items) counts[it.label]++;
  return `${ds.split}: ${ds.items.length} images (${ds.classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}) in ${ds.root}`;
}

function mixLine(m: NonNullable<DataSplits['mix']>): string {
  return `train sources: ${m.own} own + ${m.rendered} rendered (${m.perClass} per class, ${m.width}x${m.height} px) from ${m.folder}`;
}

function summarize(s: Omit<DataSplits, 'summary'>): string {
  const lines = [`data: ${s.train.name} [${s.source}]`, `  ${countLine(s.train)}`, ...(s.mix ? [`  ${mixLine(s.mix)}`] : []), `  ${countLine(s.test)}`];
  if (s.skipped.length) lines.push(`  skipped: ${s.skipped.length} unreadable or non-image file(s)`);
  return lines.join('\n');
}
