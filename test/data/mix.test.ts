import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { loadDataset } from '../../lib/data/load';
import { medianImageSize } from '../../lib/data/mix';
import { planRenderJobs } from '../../lib/data/render/dataset';
import { renderJobPixels } from '../../lib/data/render/job';
import { pngBytes, tempDir, writeClassFolders } from './fixtures';

const dir = tempDir('mix');
const cacheDir = path.join(dir, 'cache');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const opts = { cacheDir, quiet: true };

/** A TFDS-layout folder of rock/paper/scissors: 6 training images per class (4 of 40x30, 2 of 64x64), 2 test images. */
function tfdsLayout(root: string): void {
  for (const cls of ['rock', 'paper', 'scissors']) {
    for (const [split, n] of [['rps', 6], ['rps-test-set', 2]] as const) {
      fs.mkdirSync(path.join(root, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) {
        const [w, h] = split === 'rps' && i >= 4 ? [64, 64] : [40, 30];
        fs.writeFileSync(path.join(root, split, cls, `${cls}${i}.png`), pngBytes(w, h, i + 1));
      }
    }
  }
}

const pngSize = (f: string): [number, number] => {
  const p = PNG.sync.read(fs.readFileSync(f));
  return [p.width, p.height];
};

test('mixRendered: N rendered hands per class in the training split only, at the median size of the own images', async () => {
  const root = path.join(dir, 'real');
  tfdsLayout(root);
  const plain = await loadDataset({ ...opts, data: root });
  const s = await loadDataset({ ...opts, data: root, mixRendered: 3 });
  assert.equal(s.source, 'folder');
  const rendered = s.train.items.filter((it) => it.origin === 'rendered');
  const own = s.train.items.filter((it) => it.origin === undefined);
  assert.equal(rendered.length, 9);
  assert.deepEqual(own, plain.train.items, 'the own images are all there, unchanged');
  for (let label = 0; label < 3; label++) assert.equal(rendered.filter((it) => it.label === label).length, 3);
  assert.deepEqual(s.test.items, plain.test.items, 'the test split gets no rendered images');
  assert.ok(s.test.items.every((it) => it.origin === undefined));
  // Each class's own images first, then its rendered ones: items stay grouped by class.
  assert.deepEqual(s.train.items.map((it) => it.label), [...s.train.items].map((it) => it.label).sort((a, b) => a - b));
  assert.deepEqual(s.mix && { own: s.mix.own, rendered: s.mix.rendered, perClass: s.mix.perClass, w: s.mix.width, h: s.mix.height },
    { own: 18, rendered: 9, perClass: 3, w: 40, h: 30 });
  for (const it of rendered) {
    assert.equal(path.basename(path.dirname(it.file)), s.train.classes[it.label]);
    assert.deepEqual(pngSize(it.file), [40, 30], 'stored at the median size of the own training images');
  }
  assert.match(s.summary, /train: 27 images \(rock 9, paper 9, scissors 9\)/);
  assert.match(s.summary, /train sources: 18 own \+ 9 rendered \(3 per class, 40x30 px\)/);
  // Rendered at 300 px from the full variety and box-filtered down, byte for byte.
  const job = planRenderJobs('', 9, 0, 0, 300, 'iid', { width: 40, height: 30 })[0];
  const want = renderJobPixels(job).pixels;
  const got = PNG.sync.read(fs.readFileSync(rendered.find((it) => it.label === 0)!.file));
  const rgb = new Uint8Array(40 * 30 * 3);
  for (let i = 0; i < 40 * 30; i++) rgb.set(got.data.subarray(i * 4, i * 4 + 3), i * 3);
  assert.deepEqual(rgb, want);
});

test('mixRendered: deterministic and cached; the renderer seed picks other hands', async () => {
  const root = path.join(dir, 'own');
  writeClassFolders(root, { rock: 4, paper: 4 }, 20);
  const a = await loadDataset({ ...opts, data: root, testFraction: 0.25, mixRendered: 2 });
  const files = a.train.items.filter((it) => it.origin === 'rendered').map((it) => it.file);
  const bytes = files.map((f) => fs.readFileSync(f));
  const mtimes = files.map((f) => fs.statSync(f).mtimeMs);
  assert.deepEqual(a.train.classes, ['paper', 'rock'], 'a subset of the drawable classes is fine');
  assert.equal(files.length, 4);
  const b = await loadDataset({ ...opts, data: root, testFraction: 0.25, mixRendered: 2 });
  assert.deepEqual(b.train.items, a.train.items);
  assert.deepEqual(files.map((f) => fs.statSync(f).mtimeMs), mtimes, 'served from the cache, not rendered again');
  assert.ok(files.every((f, i) => fs.readFileSync(f).equals(bytes[i])));
  assert.ok(files.every((f) => pngSize(f).join() === '20,20'));
  const c = await loadDataset({ ...opts, data: root, testFraction: 0.25, mixRendered: 2, render: { seed: 1 } });
  const other = c.train.items.filter((it) => it.origin === 'rendered').map((it) => fs.readFileSync(it.file));
  assert.ok(other.every((buf, i) => !buf.equals(bytes[i])));
});

test('mixRendered: clear errors for classes the renderer cannot draw, bad counts and the rendered source', async () => {
  const root = path.join(dir, 'pets');
  writeClassFolders(root, { cat: 3, dog: 3, rock: 3 });
  await assert.rejects(loadDataset({ ...opts, data: root, mixRendered: 2 }),
    /mixRendered: the renderer can draw only the classes rock, paper, scissors; this data set's class folder\(s\) cat, dog \(in .*pets\) are not among them/);
  for (const bad of [-1, 1.5, Number.NaN]) {
    await assert.rejects(loadDataset({ ...opts, data: root, mixRendered: bad }), /mixRendered: expected a whole number of rendered images per class/);
  }
  await assert.rejects(loadDataset({ ...opts, data: 'rendered', mixRendered: 2 }), /with data 'rendered' every image is rendered already/);
  // 0 means none: no rendered items, no mix summary.
  const none = await loadDataset({ ...opts, data: root, mixRendered: 0 });
  assert.equal(none.mix, undefined);
});

test('medianImageSize: median width and height of the readable headers', () => {
  const d = path.join(dir, 'sizes');
  fs.mkdirSync(d);
  const items = [[30, 20], [30, 20], [50, 40], [30, 20], [50, 40]].map(([w, h], i) => {
    const file = path.join(d, `${i}.png`);
    fs.writeFileSync(file, pngBytes(w, h, i + 1));
    return { file, label: 0 };
  });
  fs.writeFileSync(path.join(d, 'bad.png'), 'not an image');
  assert.deepEqual(medianImageSize([...items, { file: path.join(d, 'bad.png'), label: 0 }]), { width: 30, height: 20 });
  assert.throws(() => medianImageSize([{ file: path.join(d, 'bad.png'), label: 0 }]), /none of the 1 training images has a readable PNG\/JPEG header/);
});

test("mixRendered 'auto': as many per class as the largest own class, only for real rock/paper/scissors data", async () => {
  const root = path.join(dir, 'real-auto');
  tfdsLayout(root);
  const s = await loadDataset({ ...opts, data: root, mixRendered: 'auto' });
  assert.equal(s.mix?.perClass, 6);
  assert.equal(s.train.items.filter((it) => it.origin === 'rendered').length, 18);
  const other = path.join(dir, 'pets-auto');
  writeClassFolders(other, { cat: 3, dog: 3 });
  const pets = await loadDataset({ ...opts, data: other, mixRendered: 'auto' });
  assert.equal(pets.mix, undefined, 'classes the renderer cannot draw: nothing added, no error');
  const rendered = await loadDataset({ ...opts, data: 'rendered', render: { train: 6, test: 3, size: 32 }, mixRendered: 'auto' });
  assert.equal(rendered.mix, undefined);
});
