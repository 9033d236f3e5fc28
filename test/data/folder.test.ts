import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadDataset } from '../../lib/data/load';
import { decodeImage } from '../../lib/data/decode';
import { jpegBytes, palettePngBytes, pngBytes, tempDir, writeClassFolders, zipFolder } from './fixtures';

const dir = tempDir('folder');
const cacheDir = path.join(dir, 'cache');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const opts = { cacheDir, quiet: true };

test('own folder: classes from sorted folder names, seeded stratified split', async () => {
  const root = path.join(dir, 'own');
  writeClassFolders(root, { dog: 10, cat: 10, bird: 5 });
  const s = await loadDataset({ ...opts, data: root, testFraction: 0.2, seed: 3 });
  assert.equal(s.source, 'folder');
  assert.deepEqual(s.train.classes, ['bird', 'cat', 'dog']);
  const count = (items: { label: number }[], l: number): number => items.filter((i) => i.label === l).length;
  assert.deepEqual([0, 1, 2].map((l) => count(s.test.items, l)), [1, 2, 2]);
  assert.deepEqual([0, 1, 2].map((l) => count(s.train.items, l)), [4, 8, 8]);
  const files = new Set(s.train.items.map((i) => i.file));
  assert.ok(s.test.items.every((i) => !files.has(i.file)), 'train and test are disjoint');
  for (const it of s.train.items) assert.equal(path.basename(path.dirname(it.file)), s.train.classes[it.label]);
  const again = await loadDataset({ ...opts, data: root, testFraction: 0.2, seed: 3 });
  assert.deepEqual(again.test.items, s.test.items);
  const other = await loadDataset({ ...opts, data: root, testFraction: 0.2, seed: 4 });
  assert.notDeepEqual(other.test.items, s.test.items);
  assert.match(s.summary, /train: 20 images \(bird 4, cat 8, dog 8\)/);
});

test('rock/paper/scissors folders get the TFDS label order; a separate test folder is used', async () => {
  const root = path.join(dir, 'rps-own');
  const testRoot = path.join(dir, 'rps-own-test');
  writeClassFolders(root, { scissors: 3, paper: 3, rock: 3 });
  writeClassFolders(testRoot, { scissors: 1, paper: 2, rock: 1 });
  const s = await loadDataset({ ...opts, data: root, testDir: testRoot });
  assert.deepEqual(s.train.classes, ['rock', 'paper', 'scissors']);
  assert.deepEqual(s.test.classes, ['rock', 'paper', 'scissors']);
  assert.equal(s.train.items.length, 9);
  assert.deepEqual(s.test.items.map((i) => i.label), [0, 1, 1, 2]);
});

test('a zip with a wrapper folder, and the TFDS layout root, are accepted', async () => {
  const src = path.join(dir, 'zipsrc');
  writeClassFolders(path.join(src, 'my-hands'), { a: 4, b: 4 });
  const zip = path.join(dir, 'hands.zip');
  zipFolder(src, zip);
  const s = await loadDataset({ ...opts, data: zip, testFraction: 0.25 });
  assert.deepEqual(s.train.classes, ['a', 'b']);
  assert.equal(s.train.items.length + s.test.items.length, 8);
  assert.ok(s.train.root.startsWith(cacheDir), 'extracted into the cache');

  const tfdsRoot = path.join(dir, 'tfds-like');
  writeClassFolders(path.join(tfdsRoot, 'rps'), { rock: 2, paper: 2, scissors: 2 });
  writeClassFolders(path.join(tfdsRoot, 'rps-test-set'), { rock: 1, paper: 1, scissors: 1 });
  const t = await loadDataset({ ...opts, data: tfdsRoot });
  assert.equal(t.train.items.length, 6);
  assert.equal(t.test.items.length, 3);
  assert.equal(t.test.split, 'test');
});

test('PNG (RGB, RGBA, grey, palette) and JPEG images load and decode', async () => {
  const root = path.join(dir, 'formats');
  fs.mkdirSync(path.join(root, 'x'), { recursive: true });
  fs.mkdirSync(path.join(root, 'y'), { recursive: true });
  fs.writeFileSync(path.join(root, 'x', 'rgb.png'), pngBytes(10, 10, 1, 2));
  fs.writeFileSync(path.join(root, 'x', 'rgba.png'), pngBytes(10, 10, 2, 6));
  fs.writeFileSync(path.join(root, 'y', 'grey.png'), pngBytes(10, 10, 3, 0));
  fs.writeFileSync(path.join(root, 'y', 'pal.png'), palettePngBytes(10, 10));
  fs.writeFileSync(path.join(root, 'y', 'photo.JPG'), await jpegBytes(10, 10, 1));
  const s = await loadDataset({ ...opts, data: root, testFraction: 0.5 });
  assert.equal(s.skipped.length, 0);
  const all = [...s.train.items, ...s.test.items];
  assert.equal(all.length, 5);
  for (const it of all) assert.equal((await decodeImage(it.file, 6)).length, 6 * 6 * 3);
});

test('corrupt, truncated and non-image files are skipped with a reason and counted', async () => {
  const root = path.join(dir, 'corrupt');
  writeClassFolders(root, { a: 3, b: 3 });
  const good = pngBytes(12, 12, 9);
  fs.writeFileSync(path.join(root, 'a', 'truncated.png'), good.subarray(0, good.length - 20));
  fs.writeFileSync(path.join(root, 'b', 'garbage.png'), Buffer.from('this is not an image at all'));
  const flipped = Buffer.from(good);
  flipped[40] ^= 0xff;
  fs.writeFileSync(path.join(root, 'b', 'bitflip.png'), flipped);
  fs.writeFileSync(path.join(root, 'b', 'notes.txt'), 'hello');
  const warnings: string[] = [];
  const warn = console.warn;
  const log = console.log;
  console.warn = (m: string) => warnings.push(m);
  console.log = () => undefined;
  let s;
  try {
    s = await loadDataset({ cacheDir, data: root, testFraction: 0.34 });
  } finally {
    console.warn = warn;
    console.log = log;
  }
  assert.equal(s.skipped.length, 4);
  const reasons = Object.fromEntries(s.skipped.map((k) => [path.basename(k.file), k.reason]));
  assert.match(reasons['truncated.png'], /truncated PNG/);
  assert.match(reasons['garbage.png'], /not a PNG or JPEG/);
  assert.match(reasons['bitflip.png'], /corrupt PNG/);
  assert.match(reasons['notes.txt'], /not a \.png/);
  assert.equal(s.train.items.length + s.test.items.length, 6);
  assert.match(s.summary, /skipped: 4/);
  assert.ok(warnings.some((w) => w.includes(path.join(root, 'a', 'truncated.png'))), 'the warning names the file');
});

test('layout errors name the path', async () => {
  const empty = path.join(dir, 'emptyclass');
  writeClassFolders(empty, { a: 2 });
  fs.mkdirSync(path.join(empty, 'b'));
  await assert.rejects(loadDataset({ ...opts, data: empty }), new RegExp(`empty class folder: ${escape(path.join(empty, 'b'))}`));

  const single = path.join(dir, 'single');
  writeClassFolders(single, { only: 3 });
  await assert.rejects(loadDataset({ ...opts, data: single }), /only one class folder in .*single \(only\)/);

  const none = path.join(dir, 'none');
  fs.mkdirSync(none);
  await assert.rejects(loadDataset({ ...opts, data: none }), new RegExp(`no class folders in ${escape(none)}`));

  const flat = path.join(dir, 'flat');
  fs.mkdirSync(flat);
  fs.writeFileSync(path.join(flat, 'img.png'), pngBytes(8, 8, 1));
  await assert.rejects(loadDataset({ ...opts, data: flat }), /wrong layout in .*flat: 1 image\(s\) directly in it/);

  const deep = path.join(dir, 'deep');
  writeClassFolders(path.join(deep, 'a', 'sub'), { x: 1 });
  writeClassFolders(deep, { b: 2 });
  await assert.rejects(loadDataset({ ...opts, data: deep }), /wrong layout: folder .*deep\/a\/sub is one level too deep/);

  const allBad = path.join(dir, 'allbad');
  writeClassFolders(allBad, { a: 2 });
  fs.mkdirSync(path.join(allBad, 'b'));
  fs.writeFileSync(path.join(allBad, 'b', 'x.png'), 'nope');
  await assert.rejects(loadDataset({ ...opts, data: allBad }), /no readable images in class folder .*allbad\/b/);

  await assert.rejects(loadDataset({ ...opts, data: path.join(dir, 'missing') }), /no such folder or zip/);
  const testDir = path.join(dir, 'testdir-extra');
  writeClassFolders(testDir, { a: 1, zzz: 1 });
  await assert.rejects(loadDataset({ ...opts, data: empty.replace('emptyclass', 'own'), testDir }), /zzz .*not among the training classes/);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('a seeded split that would leave a class without test (or training) images is refused, naming the class', async () => {
  const root = path.join(dir, 'lonely');
  writeClassFolders(root, { many: 6, one: 1 });
  await assert.rejects(
    loadDataset({ ...opts, data: root }),
    new RegExp(`cannot split ${escape(root)}: class 'one' has 1 image\\(s\\), so testFraction 0\\.2 leaves it with no test image; add images to ${escape(path.join(root, 'one'))} or give a separate testDir`),
  );
  writeClassFolders(path.join(dir, 'lonely-test'), { many: 1, one: 1 });
  const s = await loadDataset({ ...opts, data: root, testDir: path.join(dir, 'lonely-test') });
  assert.equal(s.train.items.length, 7);
  await assert.rejects(loadDataset({ ...opts, data: root, testFraction: 0.5 }), /class 'one' has 1 image\(s\), so testFraction 0\.5 leaves it with no training image/);
});

test('loadDataset sweeps the temporary folder a killed render or extraction left in the cache', async () => {
  const root = path.join(dir, 'sweep-src');
  writeClassFolders(root, { a: 2, b: 2 });
  const cache = path.join(dir, 'sweep-cache');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const leftover = path.join(cache, `.rendered-v1-0123456789abcdef.${dead}.deadbeef.tmp`);
  fs.mkdirSync(path.join(leftover, 'rps', 'rock'), { recursive: true });
  const old = new Date(Date.now() - 3600_000);
  fs.utimesSync(leftover, old, old);
  await loadDataset({ data: root, cacheDir: cache, quiet: true, testFraction: 0.5 });
  assert.ok(!fs.existsSync(leftover));
});
