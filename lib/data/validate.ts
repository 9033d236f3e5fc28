/**
 * Checks of image files before anything decodes them, so that a corrupt, truncated or oversized file in a user's
 * folder is found when the data set is listed (before the split) rather than in the middle of preprocessing.
 * `imageHeaderProblem` reads only the header (cheap: every decode runs it); `imageBytesProblem` also walks every
 * PNG chunk and inflates the image data, which finds what only a decoder would otherwise find.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FileMemo } from '../util/file_memo';

/** Image formats the pipeline decodes. */
export type ImageFormat = 'png' | 'jpeg';

/** Bumped whenever the checks change, so that remembered results (see `FileMemo`) are recomputed. */
export const IMAGE_CHECK_VERSION = 2;

/** Largest side accepted, in pixels: a header claiming more is refused before any memory is allocated for it. */
export const MAX_IMAGE_SIDE = 10_000;
/** Largest area accepted, in pixels (50 megapixels: 200 MB of RGBA while decoding). */
export const MAX_IMAGE_PIXELS = 50_000_000;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The format from the first bytes, or undefined. */
export function sniffImageFormat(bytes: Buffer): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/**
 * Why `bytes` cannot be decoded, judged from the format and the header alone (for JPEG the marker segments; no
 * inflating), or undefined: not an image, a header with zero or too large dimensions, a truncated JPEG.
 */
export function imageHeaderProblem(bytes: Buffer): string | undefined {
  const format = sniffImageFormat(bytes);
  if (!format) return bytes.length === 0 ? 'empty file' : 'not a PNG or JPEG file';
  if (format === 'png') {
    if (bytes.length < 33 || bytes.toString('latin1', 12, 16) !== 'IHDR') return 'corrupt PNG (no IHDR header)';
    return dimensionProblem(bytes.readUInt32BE(16), bytes.readUInt32BE(20), 'PNG');
  }
  return jpegProblem(bytes);
}

/** Why `bytes` is not a complete, decodable PNG or JPEG, or undefined when it looks sound. */
export function imageBytesProblem(bytes: Buffer): string | undefined {
  const header = imageHeaderProblem(bytes);
  if (header) return header;
  return sniffImageFormat(bytes) === 'png' ? pngProblem(bytes) : undefined;
}

/**
 * Reads `file` and checks it; an unreadable file is a problem too. With `memo`, the result is remembered by path,
 * size and mtime (an unreadable file is not remembered: fixing its permissions does not change its mtime).
 */
export function imageFileProblem(file: string, memo?: FileMemo<string | null>): string | undefined {
  const check = (f: string): string | null => imageBytesProblem(fs.readFileSync(f)) ?? null;
  try {
    return (memo ? memo.get(file, check) : check(file)) ?? undefined;
  } catch (err) {
    return `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** The memo of `imageFileProblem` results under `cacheDir` (memory only without one). Call `save()` after a scan. */
export function imageCheckMemo(cacheDir?: string): FileMemo<string | null> {
  return FileMemo.open(cacheDir ? path.join(cacheDir, 'file-memo', `image-check-v${IMAGE_CHECK_VERSION}.json`) : undefined);
}

function dimensionProblem(width: number, height: number, format: 'PNG' | 'JPEG'): string | undefined {
  if (width === 0 || height === 0) return `corrupt ${format} (zero width or height)`;
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    return `image too large: ${width}x${height} px (the limit is ${MAX_IMAGE_SIDE} px a side and ${MAX_IMAGE_PIXELS / 1e6} megapixels)`;
  }
  return undefined;
}

/** Channels per PNG colour type, and the bit depths each allows. */
const PNG_COLOR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * Walks the chunks (IHDR first, CRCs right, at least one IDAT, IEND reached), then inflates the image data and
 * checks that it holds exactly the rows the header describes, each starting with a valid filter byte.
 */
function pngProblem(b: Buffer): string | undefined {
  let pos = 8;
  let first = true;
  const idat: Buffer[] = [];
  while (pos + 12 <= b.length) {
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + len > b.length) return `truncated PNG (chunk ${type} runs past the end)`;
    const crc = b.readUInt32BE(pos + 8 + len);
    if (zlib.crc32(b.subarray(pos + 4, pos + 8 + len)) !== crc) return `corrupt PNG (bad CRC in chunk ${type})`;
    if (first) {
      if (type !== 'IHDR' || len !== 13) return 'corrupt PNG (no IHDR header)';
      first = false;
    }
    if (type === 'IDAT') idat.push(b.subarray(pos + 8, pos + 8 + len));
    if (type === 'IEND') return idat.length ? pngDataProblem(b, Buffer.concat(idat)) : 'corrupt PNG (no image data)';
    pos += 12 + len;
  }
  return 'truncated PNG (no IEND chunk)';
}

function pngDataProblem(b: Buffer, compressed: Buffer): string | undefined {
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const depth = b[24];
  const colorType = PNG_COLOR_TYPES[b[25]];
  const interlaced = b[28] === 1;
  if (!colorType || !colorType.depths.includes(depth)) return `corrupt PNG (colour type ${b[25]} with bit depth ${depth})`;
  const bitsPerPixel = colorType.channels * depth;
  const passes = interlaced
    ? ADAM7.map(([x0, y0, dx, dy]) => [Math.ceil(Math.max(0, width - x0) / dx), Math.ceil(Math.max(0, height - y0) / dy)])
    : [[width, height]];
  // Each row is a filter byte followed by the packed pixels.
  const rows = passes.filter(([w, h]) => w > 0 && h > 0).map(([w, h]) => ({ bytes: 1 + Math.ceil((w * bitsPerPixel) / 8), count: h }));
  const expected = rows.reduce((a, r) => a + r.bytes * r.count, 0);
  let raw: Buffer;
  try {
    // Sync flush: a stream cut just before its checksum still yields its data; the length check below decides.
    raw = zlib.inflateSync(compressed, { maxOutputLength: expected, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return 'corrupt PNG (more image data than the header describes)';
    return `corrupt PNG (image data does not decompress: ${(err as Error).message})`;
  }
  if (raw.length < expected) return `truncated PNG (image data holds ${raw.length} of ${expected} bytes)`;
  let at = 0;
  for (const r of rows) {
    for (let y = 0; y < r.count; y++, at += r.bytes) if (raw[at] > 4) return `corrupt PNG (bad filter type ${raw[at]} in the image data)`;
  }
  return undefined;
}

/** Walks the marker segments up to the scan (checking the frame's size), then looks for the end-of-image marker. */
function jpegProblem(b: Buffer): string | undefined {
  let pos = 2;
  let frame = false;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return 'corrupt JPEG (bad marker)';
    const marker = b[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    const len = b.readUInt16BE(pos + 2);
    if (len < 2 || pos + 2 + len > b.length) return 'truncated JPEG (segment runs past the end)';
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (len < 7) return 'corrupt JPEG (short frame header)';
      frame = true;
      const problem = dimensionProblem(b.readUInt16BE(pos + 7), b.readUInt16BE(pos + 5), 'JPEG');
      if (problem) return problem;
    }
    if (marker === 0xda) {
      if (!frame) return 'corrupt JPEG (no frame header)';
      // In entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FFD9 after the scan is the end.
      for (let i = b.length - 2; i > pos; i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return undefined;
      return 'truncated JPEG (no end-of-image marker)';
    }
    pos += 2 + len;
  }
  return 'truncated JPEG (no image data)';
}
