/**
 * Decoding any PNG/JPEG (RGB, RGBA, grey, palette) into RGB uint8 at a square size, with the antialiased resize
 * onto white of resize.ts. PNGs go straight to pngjs (jimp's own PNG path wraps it and costs about twice as much);
 * JPEG and anything else go through jimp.
 */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import { imageBytesProblem, imageHeaderProblem, sniffImageFormat } from './validate';
import { resizeRgbaOnWhite } from './resize';

/**
 * Decodes `input` (a file path or the file's bytes) to `size*size*3` RGB bytes. The image is stretched to a square
 * like `tf.image.resize(image, [size, size])` in the TFDS tutorial; transparent pixels are composited on white
 * (the data set's background). Errors name the file and say what is wrong with it (as `imageBytesProblem` does);
 * a header claiming more than `MAX_IMAGE_SIDE` / `MAX_IMAGE_PIXELS` is refused before decoding.
 */
export async function decodeImage(input: string | Buffer, size: number): Promise<Uint8Array> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`decodeImage: size must be a positive integer, got ${size}`);
  const label = typeof input === 'string' ? input : `<buffer of ${input.length} bytes>`;
  let bytes: Buffer;
  try {
    bytes = typeof input === 'string' ? fs.readFileSync(input) : input;
  } catch (err) {
    throw new Error(`cannot decode image ${label}: ${(err as Error).message}`);
  }
  // The header check refuses a non-image or a huge claimed size before a decoder allocates memory for it.
  const header = imageHeaderProblem(bytes);
  if (header) throw new Error(`cannot decode image ${label}: ${header}`);
  let bitmap: { width: number; height: number; data: Buffer };
  try {
    // jimp is loaded only when needed: it is slow to import (matters in each decode worker).
    bitmap = sniffImageFormat(bytes) === 'png' ? PNG.sync.read(bytes) : (await (await import('jimp')).Jimp.read(bytes)).bitmap;
  } catch (err) {
    // The decoders' own messages are cryptic ("read requests waiting on finished stream"); the validator says what is wrong.
    throw new Error(`cannot decode image ${label}: ${imageBytesProblem(bytes) ?? (err as Error).message}`);
  }
  return resizeRgbaOnWhite(bitmap.data, bitmap.width, bitmap.height, size, size);
}
