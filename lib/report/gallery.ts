/** Picking and preparing example images for the notebooks' galleries. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRng } from '../util/random';
import { augmentPixels, type AugmentOptions } from '../data/augment';
import type { PixelSet } from '../data/pixels';
import type { FilePrediction } from '../model/classify';
import type { GalleryImage, RawImage } from './display';

/** The parts of lib/data's `PixelSet` a gallery reads (uint8 RGB, `count` images of `size`x`size`). */
export type GalleryPixels = Pick<PixelSet, 'size' | 'count' | 'pixels' | 'labels' | 'classes' | 'files'>;

/** Image `index` of a pixel set, as raw RGB (a view: no copy). */
export function pixelImage(set: GalleryPixels, index: number): RawImage {
  if (!Number.isInteger(index) || index < 0 || index >= set.count) {
    throw new Error(`pixelImage: index ${index} out of range [0, ${set.count})`);
  }
  const per = set.size * set.size * 3;
  return { pixels: set.pixels.subarray(index * per, (index + 1) * per), width: set.size, height: set.size, channels: 3 };
}

/**
 * `perClass` image indices of each class, drawn with `seed` (default 0), grouped by class in class order.
 * A class with fewer images gives all it has.
 */
export function pickPerClass(labels: ArrayLike<number>, numClasses: number, perClass: number, seed = 0): number[] {
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`pickPerClass: perClass must be a positive integer, got ${perClass}`);
  const rng = createRng(seed);
  const out: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
    out.push(...rng.shuffled(members).slice(0, perClass).sort((a, b) => a - b));
  }
  return out;
}

/** Gallery entries for `indices` of a pixel set, captioned with the class name (or `caption(i)`). */
export function pixelGallery(set: GalleryPixels, indices: number[], caption?: (index: number) => string): GalleryImage[] {
  return indices.map((i) => ({ image: pixelImage(set, i), caption: caption ? caption(i) : set.classes[set.labels[i]] }));
}

/** A new pixel set holding only `indices` (copied), e.g. to augment a handful of examples. */
export function subsetPixels<T extends GalleryPixels & { key: string }>(set: T, indices: number[]): T {
  const per = set.size * set.size * 3;
  const pixels = new Uint8Array(indices.length * per);
  indices.forEach((i, n) => pixels.set(pixelImage(set, i).pixels, n * per));
  return {
    ...set,
    count: indices.length,
    pixels,
    labels: Int32Array.from(indices.map((i) => set.labels[i])),
    files: indices.map((i) => set.files[i]),
    key: `${set.key}:subset:${indices.join(',')}`,
  };
}

/** An image file as a data URI, bytes unchanged (PNG, JPEG, GIF or WebP by extension). */
export function fileDataUri(file: string): string {
  const ext = path.extname(file).toLowerCase();
  const type = ext === '.png' ? 'png' : ext === '.jpg' || ext === '.jpeg' ? 'jpeg' : ext === '.gif' ? 'gif' : ext === '.webp' ? 'webp' : undefined;
  if (!type) throw new Error(`fileDataUri: ${file}: expected a .png, .jpg, .jpeg, .gif or .webp file`);
  return `data:image/${type};base64,${fs.readFileSync(file).toString('base64')}`;
}

/** Options for `augmentationGallery`. */
export interface AugmentationGalleryOptions {
  /** The augmentation to show (lib/data's `AugmentOptions`); false shows no variants. */
  augment: AugmentOptions | false;
  /** Augmented variants per image. Default 4. */
  views?: number;
  /** Seed of the first variant; variant v uses `seed + v`. Default 1. */
  seed?: number;
}

/**
 * One row per chosen image: the original file, the resized image the network sees, and `views` augmented
 * variants of it (seeded, so a re-run shows the same ones).
 */
export function augmentationGallery(set: PixelSet, indices: number[], options: AugmentationGalleryOptions): GalleryImage[] {
  const views = options.views ?? 4;
  const seed = options.seed ?? 1;
  const examples = subsetPixels(set, indices);
  const augment = options.augment;
  const variants = augment ? Array.from({ length: views }, (_, v) => augmentPixels(examples, { ...augment, seed: seed + v })) : [];
  return indices.flatMap((index, n) => [
    { image: fileDataUri(set.files[index]), caption: `${set.classes[set.labels[index]]}: original` },
    { image: pixelImage(examples, n), caption: `resized ${set.size}px` },
    ...variants.map((view, v) => ({ image: pixelImage(view, n), caption: `augmented #${v + 1}` })),
  ]);
}

/**
 * Gallery entries for predictions on image files: the image, the predicted class and its probability. For
 * rendered images (in `<class>/<file>` folders) `classFromFolder` adds the drawn class, and a wrong prediction is red.
 */
export function predictionGallery(predictions: FilePrediction[], options: { classFromFolder?: boolean } = {}): GalleryImage[] {
  return predictions.map((prediction) => {
    const file = prediction.file;
    const p = `${prediction.label} ${(prediction.probabilities[prediction.label] * 100).toFixed(0)} %`;
    if (!options.classFromFolder) return { image: fileDataUri(file), caption: p };
    const drawn = path.basename(path.dirname(file));
    return { image: fileDataUri(file), caption: `${p} (drawn: ${drawn})`, color: drawn === prediction.label ? undefined : '#cf222e' };
  });
}
