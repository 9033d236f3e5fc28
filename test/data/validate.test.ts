/** Image validation before the split: every PNG layout, corrupt image data behind valid CRCs, oversized headers. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { decodeImage } from '../../lib/data/decode';
import { loadDataset } from '../../lib/data/load';
import { imageBytesProblem } from '../../lib/data/validate';
import { buildPng, jpegBytes, pngBytes, pngChunk, tempDir, writeClassFolders, type PngHeader } from './fixtures';

const dir = tempDir('validate');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** Zero pixels with filter byte 0 on every row, for every pass when interlaced. */
function rawData(h: PngHeader): Buffer {
  const bpp = CHANNELS[h.colorType] * h.bitDepth;
  const passes = h.interlace
    ? ADAM7.map(([x0, y0, dx, dy]) => [Math.ceil(Math.max(0, h.width - x0) / dx), Math.ceil(Math.max(0, h.height - y0) / dy)])
    : [[h.width, h.height]];
  const bytes = passes.filter(([w, r]) => w > 0 && r > 0).reduce((a, [w, r]) => a + r * (1 + Math.ceil((w * bpp) / 8)), 0);
  return Buffer.alloc(bytes);
}

/** `png` with its IDAT data replaced by `data` (CRC recomputed, so only a look inside the data can tell). */
function withIdat(png: Buffer, data: Buffer): Buffer {
  const chunks: Buffer[] = [png.subarray(0, 8)];
  for (let pos = 8; pos < png.length; ) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    chunks.push(type === 'IDAT' ? pngChunk('IDAT', data) : png.subarray(pos, pos + 12 + len));
    pos += 12 + len;
  }
  return Buffer.concat(chunks);
}

function idatOf(png: Buffer): Buffer {
  for (let pos = 8; pos < png.length; ) {
    const len = png.readUInt32BE(pos);
    if (png.toString('latin1', pos + 4, pos + 8) === 'IDAT') return png.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
  }
  throw new Error('no IDAT');
}

test('every PNG layout the decoder reads passes; one byte less or more of image data is refused', () => {
  const layouts: [number, number][] = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16], [2, 8], [2, 16], [3, 1], [3, 8], [4, 8], [4, 16], [6, 8], [6, 16]];
  for (const [colorType, bitDepth] of layouts) {
    for (const interlace of [0, 1] as const) {
      for (const [width, height] of [[1, 1], [7, 5], [13, 9]]) {
        const h = { width, height, bitDepth, colorType, interlace };
        const what = JSON.stringify(h);
        const palette = colorType === 3 ? Buffer.from([0, 0, 0, 255, 255, 255]) : undefined;
        const raw = rawData(h);
        const png = buildPng(h, raw, palette);
        assert.equal(imageBytesProblem(png), undefined, what);
        assert.doesNotThrow(() => PNG.sync.read(png), what);
        assert.match(imageBytesProblem(buildPng(h, raw.subarray(0, raw.length - 1), palette)) ?? '', /truncated PNG \(image data holds/, what);
        assert.match(imageBytesProblem(buildPng(h, Buffer.concat([raw, Buffer.alloc(1)]), palette)) ?? '', /more image data than the header/, what);
      }
    }
  }
  const bad = rawData({ width: 4, height: 2, bitDepth: 8, colorType: 2 });
  bad[0] = 9;
  assert.match(imageBytesProblem(buildPng({ width: 4, height: 2, bitDepth: 8, colorType: 2 }, bad)) ?? '', /bad filter type 9/);
});

test('valid CRCs around corrupt zlib data: found by validation, before the split, so the counts are true', async () => {
  const good = pngBytes(12, 12, 3);
  const idat = Buffer.from(idatOf(good));
  // Keep the zlib header; a reserved deflate block type follows.
  idat.fill(0xff, 2);
  const corrupt = withIdat(good, idat);
  assert.match(imageBytesProblem(corrupt) ?? '', /corrupt PNG \(image data does not decompress: invalid block type\)/);
  // A stream cut short (its checksum and last block missing), CRCs still valid.
  assert.match(imageBytesProblem(withIdat(good, idatOf(good).subarray(0, 20))) ?? '', /truncated PNG \(image data holds \d+ of 444 bytes\)/);

  const root = path.join(dir, 'zlib');
  writeClassFolders(root, { a: 4, b: 3 });
  fs.writeFileSync(path.join(root, 'b', 'b01.png'), corrupt);
  const s = await loadDataset({ data: root, cacheDir: path.join(dir, 'cache'), quiet: true, testFraction: 0.5 });
  assert.deepEqual(s.skipped.map((k) => path.basename(k.file)), ['b01.png']);
  assert.match(s.skipped[0].reason, /image data does not decompress/);
  assert.match(s.summary, /train: 3 images \(a 2, b 1\)/);
  assert.match(s.summary, /test: 3 images \(a 2, b 1\)/);
  assert.match(s.summary, /skipped: 1 /);
});

test('a header claiming 40000x40000 px is refused at once, naming the file (PNG and JPEG)', async () => {
  const huge = buildPng({ width: 40000, height: 40000, bitDepth: 8, colorType: 2 }, Buffer.alloc(100));
  assert.ok(huge.length < 200);
  assert.equal(imageBytesProblem(huge), 'image too large: 40000x40000 px (the limit is 10000 px a side and 50 megapixels)');
  // Within the side limit but over the area limit.
  assert.match(imageBytesProblem(buildPng({ width: 8000, height: 8000, bitDepth: 8, colorType: 2 }, Buffer.alloc(10))) ?? '', /image too large: 8000x8000/);
  const file = path.join(dir, 'huge.png');
  fs.writeFileSync(file, huge);
  const t0 = Date.now();
  await assert.rejects(decodeImage(file, 16), new RegExp(`cannot decode image ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: image too large: 40000x40000 px`));
  assert.ok(Date.now() - t0 < 1000, `refused in ${Date.now() - t0} ms`);

  const jpeg = Buffer.from(await jpegBytes(8, 8, 1));
  let sof = -1;
  for (let i = 2; i < jpeg.length - 1; i++) if (jpeg[i] === 0xff && jpeg[i + 1] >= 0xc0 && jpeg[i + 1] <= 0xc2) (sof = i), (i = jpeg.length);
  jpeg.writeUInt16BE(40000, sof + 5);
  jpeg.writeUInt16BE(40000, sof + 7);
  await assert.rejects(decodeImage(jpeg, 16), /cannot decode image <buffer of \d+ bytes>: image too large: 40000x40000 px/);

  const root = path.join(dir, 'huge-set');
  writeClassFolders(root, { a: 3, b: 3 });
  fs.copyFileSync(file, path.join(root, 'a', 'zz-huge.png'));
  const s = await loadDataset({ data: root, cacheDir: path.join(dir, 'cache'), quiet: true });
  assert.deepEqual(s.skipped.map((k) => `${path.basename(k.file)}: ${k.reason}`), ['zz-huge.png: image too large: 40000x40000 px (the limit is 10000 px a side and 50 megapixels)']);
});

test("decodeImage says what is wrong with a file in the validator's words, naming it", async () => {
  const text = path.join(dir, 'notes.png');
  fs.writeFileSync(text, 'just some text\n');
  await assert.rejects(decodeImage(text, 8), new RegExp(`cannot decode image .*notes\\.png: not a PNG or JPEG file$`));
  const good = pngBytes(12, 12, 4);
  const cut = path.join(dir, 'cut.png');
  fs.writeFileSync(cut, good.subarray(0, good.length - 30));
  await assert.rejects(decodeImage(cut, 8), /cannot decode image .*cut\.png: truncated PNG \(chunk IDAT runs past the end\)$/);
  const empty = path.join(dir, 'empty.jpg');
  fs.writeFileSync(empty, '');
  await assert.rejects(decodeImage(empty, 8), /cannot decode image .*empty\.jpg: empty file$/);
});
