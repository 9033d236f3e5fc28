import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { initEngine } from '../../lib/engine/engine';
import { decodeImage } from '../../lib/data/decode';
import { resizeRgbaOnWhite } from '../../lib/data/resize';
import { clearPixelMemo, loadPixels, pixelCacheStats, pixelsToTensor } from '../../lib/data/pixels';
import { loadDataset } from '../../lib/data/load';
import { palettePngBytes, pngBytes, tempDir, writeClassFolders } from './fixtures';

const dir = tempDir('pixels');
const cacheDir = path.join(dir, 'cache');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
before(async () => {
  await initEngine({ engine: 'wasm', quiet: true });
});

test('decodeImage: RGB bytes at the requested size, alpha on white, palette colours', async () => {
  const rgba = await decodeImage(pngBytes(20, 20, 5, 6), 10);
  assert.equal(rgba.length, 10 * 10 * 3);
  // The left quarter of the fixture is transparent: white after compositing.
  for (let y = 0; y < 10; y++) assert.deepEqual([...rgba.subarray(y * 30, y * 30 + 3)], [255, 255, 255]);
  const pal = await decodeImage(palettePngBytes(8, 8), 4);
  assert.deepEqual([...pal.subarray(0, 3)], [255, 0, 0]);
  assert.deepEqual([...pal.subarray(9, 12)], [0, 0, 255]);
  await assert.rejects(decodeImage(path.join(dir, 'nope.png'), 4), /cannot decode image .*nope\.png/);
  await assert.rejects(decodeImage(Buffer.from('garbage'), 4), /cannot decode image <buffer of 7 bytes>/);
});

test('resize antialiases when shrinking and keeps flat colours exact', () => {
  const w = 16;
  const checker = new Uint8Array(w * w * 4);
  for (let i = 0; i < w * w; i++) {
    const v = ((i % w) + Math.floor(i / w)) % 2 ? 255 : 0;
    checker.set([v, v, v, 255], i * 4);
  }
  const small = resizeRgbaOnWhite(checker, w, w, 4, 4);
  for (const v of small) assert.ok(Math.abs(v - 127.5) < 20, `checkerboard averages to grey, got ${v}`);
  const flat = new Uint8Array(w * w * 4).fill(0);
  for (let i = 0; i < w * w; i++) flat.set([10, 200, 30, 255], i * 4);
  const up = resizeRgbaOnWhite(flat, w, w, 23, 23);
  for (let i = 0; i < up.length; i += 3) assert.deepEqual([up[i], up[i + 1], up[i + 2]], [10, 200, 30]);
});

test('loadPixels: shapes and labels; disk cache hit without decoding; memo; key follows content and size', async () => {
  const root = path.join(dir, 'set');
  writeClassFolders(root, { a: 6, b: 6 }, 24);
  const { train } = await loadDataset({ data: root, cacheDir, quiet: true, testFraction: 0.25 });
  const n = train.items.length;
  assert.equal(n, 8);
  const d0 = pixelCacheStats.decoded;
  const first = await loadPixels(train, { size: 16, cacheDir, quiet: true });
  assert.equal(pixelCacheStats.decoded - d0, n);
  assert.equal(first.count, n);
  assert.equal(first.pixels.length, n * 16 * 16 * 3);
  assert.deepEqual(Array.from(first.labels), train.items.map((i) => i.label));
  assert.deepEqual(first.files, train.items.map((i) => i.file));

  const memoHit = await loadPixels(train, { size: 16, cacheDir, quiet: true });
  assert.equal(memoHit, first, 'same object from the in-memory memo');

  clearPixelMemo();
  const hits = pixelCacheStats.diskHits;
  const d1 = pixelCacheStats.decoded;
  const fromDisk = await loadPixels(train, { size: 16, cacheDir, quiet: true });
  assert.equal(pixelCacheStats.decoded, d1, 'nothing decoded on a cache hit');
  assert.equal(pixelCacheStats.diskHits, hits + 1);
  assert.deepEqual(fromDisk.pixels, first.pixels);
  assert.equal(fromDisk.key, first.key);

  const other = await loadPixels(train, { size: 12, cacheDir, quiet: true });
  assert.notEqual(other.key, first.key);
  assert.equal(pixelCacheStats.decoded - d1, n, 'another size decodes again');

  fs.writeFileSync(train.items[0].file, pngBytes(24, 24, 99));
  clearPixelMemo();
  const changed = await loadPixels(train, { size: 16, cacheDir, quiet: true });
  assert.notEqual(changed.key, first.key, 'a changed file changes the key');
  assert.notDeepEqual(changed.pixels.subarray(0, 768), first.pixels.subarray(0, 768));

  // A cache whose .bin was truncated is not trusted.
  const bins = fs.readdirSync(path.join(cacheDir, 'pixels')).filter((f) => f.endsWith('.bin') && f.includes(changed.key));
  fs.truncateSync(path.join(cacheDir, 'pixels', bins[0]), 10);
  clearPixelMemo();
  const d2 = pixelCacheStats.decoded;
  await loadPixels(train, { size: 16, cacheDir, quiet: true });
  assert.equal(pixelCacheStats.decoded - d2, n);
});

test('pixelsToTensor: shape, value range, indices; no leaked tensors', async () => {
  const root = path.join(dir, 'set2');
  writeClassFolders(root, { a: 3, b: 3 }, 20);
  const { train } = await loadDataset({ data: root, cacheDir, quiet: true, testFraction: 0.34 });
  const set = await loadPixels(train, { size: 8, cacheDir, quiet: true });
  const before = tf.memory().numTensors;
  for (const range of [[-1, 1], [0, 1], [0, 255]] as [number, number][]) {
    const t = pixelsToTensor(set, { range });
    assert.deepEqual(t.shape, [set.count, 8, 8, 3]);
    assert.equal(t.dtype, 'float32');
    const data = Array.from(t.dataSync());
    const min = Math.min(...data);
    const max = Math.max(...data);
    assert.ok(min >= range[0] && max <= range[1] + 1e-6, `values in [${range}]: ${min}..${max}`);
    assert.ok(Math.abs(max - range[1]) < 1e-5, 'white background maps to the top of the range');
    const expected = range[0] + (set.pixels[5] / 255) * (range[1] - range[0]);
    assert.ok(Math.abs(data[5] - expected) < 1e-5);
    t.dispose();
  }
  const sub = pixelsToTensor(set, { range: [0, 1], indices: [2, 0] });
  assert.deepEqual(sub.shape, [2, 8, 8, 3]);
  assert.ok(Math.abs(sub.dataSync()[0] - set.pixels[2 * 192] / 255) < 1e-6);
  sub.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => pixelsToTensor(set, { range: [1, 0] }), /range must be/);
  assert.throws(() => pixelsToTensor(set, { range: [0, 1], indices: [99] }), /index 99 out of range/);
});

test('parallel decoding (worker threads) gives the same bytes; an undecodable file is skipped and listed', async () => {
  const root = path.join(dir, 'many');
  const files = writeClassFolders(root, { a: 35, b: 35 }, 14);
  fs.writeFileSync(path.join(root, 'b', 'zz-broken.png'), 'not a png');
  const ds = {
    name: 'many',
    split: 'train',
    classes: ['a', 'b'],
    source: 'folder' as const,
    root,
    items: [...files.map((file) => ({ file, label: file.includes(`${path.sep}a${path.sep}`) ? 0 : 1 })), { file: path.join(root, 'b', 'zz-broken.png'), label: 1 }],
  };
  const serial = await loadPixels(ds, { size: 10, cacheDir: path.join(dir, 'c1'), workers: 1, quiet: true });
  const parallel = await (async () => {
    clearPixelMemo();
    return loadPixels(ds, { size: 10, cacheDir: path.join(dir, 'c2'), workers: 2, quiet: true });
  })();
  assert.notEqual(parallel, serial);
  assert.equal(serial.count, 70);
  assert.deepEqual(parallel.pixels, serial.pixels);
  assert.deepEqual(parallel.labels, serial.labels);
  assert.deepEqual(parallel.skipped?.map((s) => path.basename(s.file)), ['zz-broken.png']);
  assert.match(parallel.skipped![0].reason, /cannot decode image .*zz-broken\.png/);
  assert.ok(!parallel.files.some((f) => f.endsWith('zz-broken.png')));
});

/** A PNG whose byte length depends only on its size (stored, not deflated), so that a rewrite can keep the size. */
function storedPng(w: number, seed: number): Buffer {
  const png = new PNG({ width: w, height: w });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * seed) % 256;
  return PNG.sync.write(png, { deflateLevel: 0, filterType: 0 });
}

test('the pixel cache is keyed by content: a moved project reads its cache; a same-size rewrite within the same second is seen', async () => {
  const root = path.join(dir, 'movable');
  writeClassFolders(root, { a: 3, b: 3 }, 16);
  const cache = path.join(dir, 'cache-movable');
  const { train } = await loadDataset({ data: root, cacheDir: cache, quiet: true, testFraction: 0.34 });
  const first = await loadPixels(train, { size: 8, cacheDir: cache, quiet: true });
  const moved = path.join(dir, 'moved-elsewhere');
  fs.renameSync(root, moved);
  clearPixelMemo();
  const d0 = pixelCacheStats.decoded;
  const hits = pixelCacheStats.diskHits;
  const again = await loadPixels((await loadDataset({ data: moved, cacheDir: cache, quiet: true, testFraction: 0.34 })).train, { size: 8, cacheDir: cache, quiet: true });
  assert.equal(pixelCacheStats.decoded, d0, 'nothing decoded after the move');
  assert.equal(pixelCacheStats.diskHits, hits + 1);
  assert.equal(again.key, first.key);
  assert.deepEqual(again.pixels, first.pixels);
  assert.ok(again.files.every((f) => f.startsWith(moved + path.sep)), 'files name the new location');

  const racy = path.join(dir, 'racy');
  fs.mkdirSync(path.join(racy, 'a'), { recursive: true });
  fs.mkdirSync(path.join(racy, 'b'), { recursive: true });
  const file = path.join(racy, 'a', 'x.png');
  fs.writeFileSync(file, storedPng(12, 3));
  fs.writeFileSync(path.join(racy, 'b', 'y.png'), storedPng(12, 5));
  const ds = { name: 'racy', split: 'train', classes: ['a', 'b'], source: 'folder' as const, root: racy, items: [{ file, label: 0 }, { file: path.join(racy, 'b', 'y.png'), label: 1 }] };
  const before = await loadPixels(ds, { size: 8, cacheDir: cache, quiet: true });
  const { mtime, size } = fs.statSync(file);
  fs.writeFileSync(file, storedPng(12, 7));
  // A file system with one-second timestamps: same size, same mtime.
  fs.utimesSync(file, mtime, mtime);
  assert.equal(fs.statSync(file).size, size);
  const after = await loadPixels(ds, { size: 8, cacheDir: cache, quiet: true });
  assert.notEqual(after.key, before.key);
  assert.deepEqual(after.pixels.subarray(0, 192), await decodeImage(file, 8));
});
