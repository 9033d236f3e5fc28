/**
 * Listing a data set laid out as `<root>/<class>/<image>` (the TFDS layout, the rendered set, a user's folder).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset, DataSourceKind, SkippedFile } from './types';
import { imageCheckMemo, imageFileProblem } from './validate';

/** TFDS label order for rock_paper_scissors. */
export const RPS_CLASSES: readonly string[] = ['rock', 'paper', 'scissors'];

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** Class order: TFDS order when the names are exactly rock/paper/scissors, else sorted. */
export function orderClasses(names: string[]): string[] {
  const sorted = [...names].sort();
  const isRps = sorted.length === 3 && [...RPS_CLASSES].sort().every((n, i) => n === sorted[i]);
  return isRps ? [...RPS_CLASSES] : sorted;
}

export interface ScanOptions {
  split: string;
  source: DataSourceKind;
  name: string;
  /** Use these classes (in this order) instead of the folder names; a folder not among them is an error. */
  classes?: string[];
  /** Check each image (structure, CRCs, image data, size limits) and skip broken ones (user data). Default: true. */
  validate?: boolean;
  /** Where the check results are remembered by path, size and mtime (`<cacheDir>/file-memo/`). Default: memory only. */
  cacheDir?: string;
}

/** Hidden entries and OS droppings are not part of a data set. */
function isIgnored(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX' || name === 'Thumbs.db' || name === 'desktop.ini';
}

/**
 * Lists `root` as one split. Throws naming the path when the layout is wrong: no class folders, files beside the
 * class folders, folders inside a class folder, an empty class folder, a single class. Broken images are skipped
 * and returned in `skipped`.
 */
export function scanClassFolders(root: string, options: ScanOptions): { dataset: Dataset; skipped: SkippedFile[] } {
  if (!fs.existsSync(root)) throw new Error(`data folder not found: ${root}`);
  if (!fs.statSync(root).isDirectory()) throw new Error(`expected a folder of class folders, got a file: ${root}`);
  const entries = fs.readdirSync(root, { withFileTypes: true }).filter((e) => !isIgnored(e.name));
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const strayImages = entries.filter((e) => e.isFile() && IMAGE_EXT.test(e.name)).map((e) => e.name);
  if (strayImages.length) {
    throw new Error(
      `wrong layout in ${root}: ${strayImages.length} image(s) directly in it (e.g. ${strayImages[0]}); ` +
        `expected ${path.join(root, '<class>', '<image>')}, one folder per class`,
    );
  }
  if (!dirs.length) throw new Error(`no class folders in ${root}: expected ${path.join(root, '<class>', '<image>')}`);
  if (options.classes) {
    const unknown = dirs.filter((d) => !options.classes!.includes(d));
    if (unknown.length) {
      throw new Error(`class folder(s) ${unknown.join(', ')} in ${root} are not among the training classes (${options.classes.join(', ')})`);
    }
  } else if (dirs.length < 2) {
    throw new Error(`only one class folder in ${root} (${dirs[0]}): a classifier needs at least two classes`);
  }
  const classes = options.classes ?? orderClasses(dirs);
  const items: Dataset['items'] = [];
  const skipped: SkippedFile[] = [];
  const memo = options.validate === false ? undefined : imageCheckMemo(options.cacheDir);
  for (const cls of classes) {
    const dir = path.join(root, cls);
    if (!dirs.includes(cls)) continue;
    const inner = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !isIgnored(e.name));
    const nested = inner.find((e) => e.isDirectory());
    if (nested) {
      throw new Error(
        `wrong layout: folder ${path.join(dir, nested.name)} is one level too deep; expected ${path.join(root, '<class>', '<image>')}`,
      );
    }
    const files = inner.filter((e) => e.isFile()).map((e) => e.name).sort();
    if (!files.length) throw new Error(`empty class folder: ${dir}`);
    let kept = 0;
    for (const name of files) {
      const file = path.join(dir, name);
      if (!IMAGE_EXT.test(name)) {
        skipped.push({ file, reason: 'not a .png/.jpg/.jpeg file' });
        continue;
      }
      const problem = memo ? imageFileProblem(file, memo) : undefined;
      if (problem) {
        skipped.push({ file, reason: problem });
        continue;
      }
      items.push({ file, label: classes.indexOf(cls) });
      kept++;
    }
    if (!kept) throw new Error(`no readable images in class folder ${dir} (${files.length} file(s) skipped)`);
  }
  memo?.save();
  return { dataset: { name: options.name, split: options.split, classes, items, source: options.source, root }, skipped };
}

/**
 * The image files named by `inputs`, for classifying new images: a file is taken as given (whatever its
 * extension, so that a wrongly named one is reported by the decoder), a folder is walked recursively in sorted
 * order. Inside folders, hidden entries and OS droppings are ignored and other files are listed in `skipped`, as
 * is a path that does not exist.
 */
export function listImageFiles(inputs: string[]): { files: string[]; skipped: SkippedFile[] } {
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (isIgnored(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXT.test(e.name)) files.push(p);
      else skipped.push({ file: p, reason: 'not a .png/.jpg/.jpeg file' });
    }
  };
  for (const input of inputs) {
    if (!fs.existsSync(input)) skipped.push({ file: input, reason: 'not found' });
    else if (fs.statSync(input).isDirectory()) walk(input);
    else files.push(input);
  }
  return { files, skipped };
}

/** Whether `root` holds the TFDS layout (`rps/` and `rps-test-set/`). */
export function isTfdsLayout(root: string): boolean {
  return fs.existsSync(path.join(root, 'rps')) && fs.existsSync(path.join(root, 'rps-test-set'));
}

/**
 * Unwraps single wrapper folders (a zip of `my-data/` gives `<extracted>/my-data/<class>/...`): while `dir` holds
 * exactly one folder, no files, and that folder holds only folders, descend.
 */
export function unwrapSingleFolder(dir: string): string {
  for (let depth = 0; depth < 4; depth++) {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !isIgnored(e.name));
    if (entries.length !== 1 || !entries[0].isDirectory() || isTfdsLayout(dir)) return dir;
    const inner = path.join(dir, entries[0].name);
    const innerEntries = fs.readdirSync(inner, { withFileTypes: true }).filter((e) => !isIgnored(e.name));
    if (!innerEntries.length || innerEntries.some((e) => !e.isDirectory())) return dir;
    dir = inner;
  }
  return dir;
}
