/** Test fixtures made on the fly: tiny PNG/JPEG images, class folders, zips, a local HTTP server. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import AdmZip from 'adm-zip';
import { PNG } from 'pngjs';
import { Jimp } from 'jimp';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rps-${prefix}-`));
}

/** A small PNG whose content depends on `seed` (a coloured disc on white). `colorType`: 2 RGB, 6 RGBA (left quarter transparent), 0 grey. */
export function pngBytes(w: number, h: number, seed: number, colorType: 0 | 2 | 6 = 2): Buffer {
  const png = new PNG({ width: w, height: h, colorType, inputColorType: 6, inputHasAlpha: true } as never);
  const cx = (seed * 7) % w;
  const cy = (seed * 13) % h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < (w * w) / 9;
      png.data[i] = inside ? (seed * 40) % 256 : 255;
      png.data[i + 1] = inside ? (seed * 90) % 256 : 255;
      png.data[i + 2] = inside ? 60 : 255;
      png.data[i + 3] = colorType === 6 && x < w / 4 ? 0 : 255;
    }
  }
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true } as never);
}

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace?: 0 | 1;
}

/**
 * A PNG built chunk by chunk (pngjs writes neither palettes, low bit depths nor interlacing): `raw` is the
 * uncompressed image data (filter byte + packed pixels per row), deflated into one IDAT; every CRC is valid.
 */
export function buildPng(h: PngHeader, raw: Buffer, palette?: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(h.width, 0);
  ihdr.writeUInt32BE(h.height, 4);
  ihdr[8] = h.bitDepth;
  ihdr[9] = h.colorType;
  ihdr[12] = h.interlace ?? 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(palette ? [pngChunk('PLTE', palette)] : []),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An indexed-colour (palette) PNG: left half red, right half blue. */
export function palettePngBytes(w: number, h: number): Buffer {
  const rows: number[] = [];
  for (let y = 0; y < h; y++) {
    rows.push(0);
    for (let x = 0; x < w; x++) rows.push(x < w / 2 ? 0 : 1);
  }
  return buildPng({ width: w, height: h, bitDepth: 8, colorType: 3 }, Buffer.from(rows), Buffer.from([255, 0, 0, 0, 0, 255]));
}

/** A small JPEG (jimp) with a gradient. */
export async function jpegBytes(w: number, h: number, seed: number): Promise<Buffer> {
  const img = new Jimp({ width: w, height: h, color: 0xffffffff });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      img.bitmap.data[i] = (x * 255) / w;
      img.bitmap.data[i + 1] = (y * 255) / h;
      img.bitmap.data[i + 2] = (seed * 50) % 256;
    }
  }
  return img.getBuffer('image/jpeg');
}

/** Writes `<root>/<class>/<class>NN.png` for each class. Returns the files. */
export function writeClassFolders(root: string, classes: Record<string, number>, size = 12): string[] {
  const files: string[] = [];
  let seed = 1;
  for (const [cls, n] of Object.entries(classes)) {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const f = path.join(root, cls, `${cls}${String(i).padStart(2, '0')}.png`);
      fs.writeFileSync(f, pngBytes(size, size, seed++));
      files.push(f);
    }
  }
  return files;
}

/** Zips a folder's contents (paths relative to it). */
export function zipFolder(dir: string, zipFile: string): Buffer {
  const zip = new AdmZip();
  zip.addLocalFolder(dir);
  zip.writeZip(zipFile);
  return fs.readFileSync(zipFile);
}

export interface TestServer {
  url: string;
  requests: { url: string; range?: string }[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) with a custom handler; records each request's URL and Range header. */
export async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    handler(req, res, requests.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Serves `body` honouring Range requests (206), like a static file server. */
export function serveBytes(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { 'Content-Length': body.length });
  res.end(body);
}

/**
 * Sends the headers for the full body and only its first `bytes`, then closes the connection (a dropped
 * download). The socket is ended, not destroyed, so the bytes already written do reach the client.
 */
export function serveCut(res: http.ServerResponse, body: Buffer, bytes: number): void {
  res.writeHead(200, { 'Content-Length': body.length });
  res.write(body.subarray(0, bytes), () => res.socket?.end());
}
