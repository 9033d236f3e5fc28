/**
 * Cheap structural checks of image files (no decoding), so that a corrupt or truncated file in a user's folder
 * is found when the data set is listed rather than in the middle of preprocessing.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** Image formats the pipeline decodes. */
export type ImageFormat = 'png' | 'jpeg';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The format from the first bytes, or undefined. */
export function sniffImageFormat(bytes: Buffer): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Why `bytes` is not a complete PNG or JPEG, or undefined when it looks sound. */
export function imageBytesProblem(bytes: Buffer): string | undefined {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return pngProblem(bytes);
  if (format === 'jpeg') return jpegProblem(bytes);
  return bytes.length === 0 ? 'empty file' : 'not a PNG or JPEG file';
}

/** Reads `file` and checks it; an unreadable file is a problem too. */
export function imageFileProblem(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    return `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  return imageBytesProblem(bytes);
}

/** Walks the chunks: IHDR first with non-zero size, CRCs right, at least one IDAT, IEND reached. */
function pngProblem(b: Buffer): string | undefined {
  let pos = 8;
  let first = true;
  let idat = false;
  while (pos + 12 <= b.length) {
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + len > b.length) return `truncated PNG (chunk ${type} runs past the end)`;
    const crc = b.readUInt32BE(pos + 8 + len);
    if (zlib.crc32(b.subarray(pos + 4, pos + 8 + len)) !== crc) return `corrupt PNG (bad CRC in chunk ${type})`;
    if (first) {
      if (type !== 'IHDR' || len !== 13) return 'corrupt PNG (no IHDR header)';
      if (b.readUInt32BE(pos + 8) === 0 || b.readUInt32BE(pos + 12) === 0) return 'corrupt PNG (zero width or height)';
      first = false;
    }
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') return idat ? undefined : 'corrupt PNG (no image data)';
    pos += 12 + len;
  }
  return 'truncated PNG (no IEND chunk)';
}

/** Walks the marker segments up to the scan, then requires an end-of-image marker after it. */
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
      frame = true;
      if (b.readUInt16BE(pos + 5) === 0 || b.readUInt16BE(pos + 7) === 0) return 'corrupt JPEG (zero width or height)';
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
