/** Image files a model has never seen: a folder of the user's own, or CGI hands rendered with a seed of their own. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from './load';
import { RPS_CLASSES } from './folder';

/** Options for `newImageFiles`. */
export interface NewImageOptions {
  /** A folder of your own images (searched recursively for PNG/JPEG). Default: none, render new ones. */
  folder?: string;
  /** How many images (rendered: one per class in turn). Default `NEW_IMAGE_DEFAULTS.count`. */
  count?: number;
  /** Renderer seed for new images; pick one no split used. Default `NEW_IMAGE_DEFAULTS.seed`. */
  seed?: number;
  /** Cache root for the rendered images. Default: the data cache. */
  cacheDir?: string;
}

export const NEW_IMAGE_DEFAULTS = { count: 6, seed: 424242 } as const;

/** The images of `folder` (sorted, the first `count`), or `count` CGI hands rendered (and cached) with their own seed, classes interleaved. */
export async function newImageFiles(options: NewImageOptions = {}): Promise<string[]> {
  const count = options.count ?? NEW_IMAGE_DEFAULTS.count;
  if (options.folder) {
    if (!fs.existsSync(options.folder)) throw new Error(`newImageFiles: folder ${options.folder} does not exist`);
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (/\.(png|jpe?g)$/i.test(entry.name)) files.push(p);
      }
    };
    walk(options.folder);
    if (!files.length) throw new Error(`newImageFiles: no .png or .jpg images in ${options.folder}`);
    return files.sort().slice(0, count);
  }
  const perClass = Math.ceil(count / RPS_CLASSES.length);
  const rendered = await loadDataset({
    data: 'rendered',
    cacheDir: options.cacheDir,
    render: { train: RPS_CLASSES.length, test: perClass * RPS_CLASSES.length, seed: options.seed ?? NEW_IMAGE_DEFAULTS.seed },
    quiet: true,
  });
  // Interleave the classes so that a short list still shows each of them.
  const byClass = rendered.test.classes.map((_, k) => rendered.test.items.filter((it) => it.label === k).map((it) => it.file));
  const out: string[] = [];
  for (let i = 0; out.length < count && i < perClass; i++) for (const files of byClass) if (files[i] && out.length < count) out.push(files[i]);
  return out;
}
