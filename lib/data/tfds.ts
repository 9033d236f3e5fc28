/**
 * The TFDS `rock_paper_scissors` source: two zips from Google storage, verified, extracted once into the cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDirAtomic } from '../util/atomic';
import { cacheKey, sha256File } from '../util/hash';
import { download, mirrorUrl, NetworkUnreachableError } from '../util/download';
import { extractZip } from '../util/zip';

/** One downloadable file: URL, and the published size and SHA-256 (both checked when given). */
export interface TfdsFileSpec {
  url: string;
  size?: number;
  sha256?: string;
}

/** The published files (sizes and hashes as in TFDS's checksums). */
export const TFDS_RPS_FILES: { train: Required<TfdsFileSpec>; test: Required<TfdsFileSpec> } = {
  train: {
    url: 'https://storage.googleapis.com/download.tensorflow.org/data/rps.zip',
    size: 200682221,
    sha256: 'c2403444395842ad04c53612bad54b574443eae17a0723117a2ff87b9d72194f',
  },
  test: {
    url: 'https://storage.googleapis.com/download.tensorflow.org/data/rps-test-set.zip',
    size: 29516758,
    sha256: 'c27ab9fa43ce40b2e453de711365b477f4424586edf0388116674fd320f07503',
  },
};

/** Folder names inside the zips (and in every TFDS-layout root). */
export const TFDS_TRAIN_FOLDER = 'rps';
export const TFDS_TEST_FOLDER = 'rps-test-set';

/** Environment variables for a data mirror base URL (the first set wins; the path of each file is kept). */
export const DATA_MIRROR_ENVS = ['RPS_DATA_MIRROR', 'RPS_MIRROR'] as const;

/**
 * Per-split overrides of the published file specs. A field left out keeps the published value (so a private copy at
 * another URL is still checked); a field set to undefined switches that check off.
 */
export interface TfdsFilesOverride {
  train?: Partial<TfdsFileSpec>;
  test?: Partial<TfdsFileSpec>;
}

export interface TfdsOptions {
  cacheDir: string;
  /** Mirror base URL; default env RPS_DATA_MIRROR, else RPS_MIRROR, else the official host. */
  mirror?: string;
  /** Override URLs, sizes and hashes (tests, private copies); a given URL is used as is, without the mirror. */
  files?: TfdsFilesOverride;
  quiet?: boolean;
}

function resolvedFiles(options: TfdsOptions): { train: TfdsFileSpec; test: TfdsFileSpec } {
  const mirror = options.mirror ?? DATA_MIRROR_ENVS.map((e) => process.env[e]).find((v) => v);
  const pick = (which: 'train' | 'test'): TfdsFileSpec => {
    const override = options.files?.[which] ?? {};
    const base = TFDS_RPS_FILES[which];
    return {
      url: override.url ?? (mirror ? mirrorUrl(base.url, mirror) : base.url),
      size: 'size' in override ? override.size : base.size,
      sha256: 'sha256' in override ? override.sha256 : base.sha256,
    };
  };
  return { train: pick('train'), test: pick('test') };
}

/** The extracted folder for these files (keyed by their hashes/URLs, so a fixture never looks like the real set). */
export function tfdsCacheFolder(options: TfdsOptions): string {
  const f = resolvedFiles(options);
  const key = cacheKey('tfds-rps-v1', f.train.sha256 ?? f.train.url, f.test.sha256 ?? f.test.url);
  return path.join(options.cacheDir, `rock_paper_scissors-v1-${key}`);
}

/** Whether the extracted TFDS data is already in the cache. */
export function tfdsCached(options: TfdsOptions): boolean {
  const dir = tfdsCacheFolder(options);
  return fs.existsSync(path.join(dir, TFDS_TRAIN_FOLDER)) && fs.existsSync(path.join(dir, TFDS_TEST_FOLDER));
}

/**
 * Makes sure the TFDS files are downloaded, verified and extracted; returns the folder holding `rps/` and
 * `rps-test-set/`. The extraction is atomic: the folder appears only when both zips were extracted completely.
 */
export async function ensureTfdsData(options: TfdsOptions): Promise<string> {
  const dir = tfdsCacheFolder(options);
  if (tfdsCached(options)) return dir;
  const files = resolvedFiles(options);
  const downloads = path.join(options.cacheDir, 'downloads');
  const zips: string[] = [];
  for (const spec of [files.train, files.test]) {
    const dest = path.join(downloads, path.basename(new URL(spec.url).pathname));
    if (!(await alreadyDownloaded(dest, spec))) {
      if (!options.quiet) console.log(`downloading ${spec.url}${spec.size ? ` (${(spec.size / 1e6).toFixed(1)} MB)` : ''}`);
      try {
        await download(spec.url, dest, { size: spec.size, sha256: spec.sha256, quiet: options.quiet });
      } catch (err) {
        if (err instanceof NetworkUnreachableError) {
          err.message += `; set RPS_DATA_MIRROR to a mirror base URL, pass a folder holding rps/ and rps-test-set/ as the source, or use source 'rendered'`;
        }
        throw err;
      }
    }
    zips.push(dest);
  }
  if (!options.quiet) console.log(`extracting into ${dir}`);
  await buildDirAtomic(dir, (tmp) => {
    for (const zip of zips) extractZip(zip, tmp);
    for (const folder of [TFDS_TRAIN_FOLDER, TFDS_TEST_FOLDER]) {
      if (!fs.existsSync(path.join(tmp, folder))) {
        throw new Error(`the TFDS zips did not contain ${folder}/ (files: ${zips.join(', ')}); expected rps/<class>/*.png and rps-test-set/<class>/*.png`);
      }
    }
  });
  return dir;
}

/** A previous download is reused when its size and hash still match (a file at `dest` was verified when written). */
async function alreadyDownloaded(dest: string, spec: TfdsFileSpec): Promise<boolean> {
  if (!fs.existsSync(dest)) return false;
  if (spec.size !== undefined && fs.statSync(dest).size !== spec.size) return false;
  if (spec.sha256 && (await sha256File(dest)) !== spec.sha256.toLowerCase()) return false;
  return true;
}
