import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentImage, augmentParams, augmentPixels } from '../../lib/data/augment';
import type { PixelSet } from '../../lib/data/pixels';
import { batchIndices, shuffleIndices, splitIndices } from '../../lib/data/split';

/** Dark squares at different places on white, so warps are visible. */
function fixtureSet(count: number, size: number): PixelSet {
  const pixels = new Uint8Array(count * size * size * 3).fill(255);
  for (let i = 0; i < count; i++) {
    for (let y = 2; y < size / 2; y++) {
      for (let x = 1 + (i % 3); x < size / 2 + 2; x++) pixels.set([20, 60 + i, 100], ((i * size + y) * size + x) * 3);
    }
  }
  return { size, count, pixels, labels: Int32Array.from({ length: count }, (_, i) => i % 3), classes: ['r', 'p', 's'], files: [], key: 'fixture' };
}

test('augmentPixels is deterministic per (seed, index) and independent of which other images are in the set', () => {
  const set = fixtureSet(6, 16);
  const a = augmentPixels(set, { seed: 7 });
  const b = augmentPixels(set, { seed: 7 });
  assert.deepEqual(a.pixels, b.pixels);
  assert.equal(a.key, b.key);
  const c = augmentPixels(set, { seed: 8 });
  assert.notDeepEqual(c.pixels, a.pixels);
  assert.notEqual(c.key, a.key);
  assert.deepEqual(a.labels, set.labels);
  // Image 4 augmented alone with its parameters equals image 4 of the whole-set result.
  const per = 16 * 16 * 3;
  const alone = new Uint8Array(per);
  augmentImage(set.pixels.subarray(4 * per, 5 * per), alone, 16, augmentParams({}, 7, 4));
  assert.deepEqual(alone, a.pixels.subarray(4 * per, 5 * per));
  assert.notDeepEqual(a.pixels, set.pixels, 'the images changed');
  assert.equal(set.pixels[0], 255, 'the source is not modified');
});

test('parameters stay in their documented ranges; switches turn each off', () => {
  for (let i = 0; i < 200; i++) {
    const p = augmentParams({}, 1, i);
    assert.ok(Math.abs(p.angle) <= 0.2 * 2 * Math.PI);
    assert.ok(p.scale >= 0.9 && p.scale <= 1.1);
    assert.ok(Math.abs(p.brightness) <= 25.5);
    assert.ok(p.contrast >= 0.9 && p.contrast <= 1.1);
  }
  const flips = Array.from({ length: 200 }, (_, i) => augmentParams({}, 1, i).flip).filter(Boolean).length;
  assert.ok(flips > 70 && flips < 130, `about half flipped: ${flips}`);
  const off = augmentParams({ flip: false, rotation: 0, zoom: 0, brightness: 0, contrast: 0 }, 1, 3);
  assert.deepEqual(off, { flip: false, angle: 0, scale: 1, brightness: 0, contrast: 1 });
  // Switching one off keeps the others' draws.
  const full = augmentParams({}, 1, 3);
  const noRot = augmentParams({ rotation: 0 }, 1, 3);
  assert.equal(noRot.scale, full.scale);
  assert.equal(noRot.flip, full.flip);
  const set = fixtureSet(2, 8);
  assert.equal(augmentPixels(set, { seed: 1, flip: false, rotation: 0, zoom: 0, brightness: 0, contrast: 0 }), set);
  assert.throws(() => augmentPixels(set, { seed: 1, rotation: 2 }), /augment.rotation: expected a number in \[0, 1\)/);
});

test('a pure flip mirrors exactly; rotation fills with white', () => {
  const set = fixtureSet(1, 10);
  const out = new Uint8Array(300);
  augmentImage(set.pixels, out, 10, { flip: true, angle: 0, scale: 1, brightness: 0, contrast: 1 });
  for (let y = 0; y < 10; y++) {
    for (let x = 0; x < 10; x++) {
      for (let ch = 0; ch < 3; ch++) assert.equal(out[(y * 10 + x) * 3 + ch], set.pixels[(y * 10 + 9 - x) * 3 + ch]);
    }
  }
  const dark = new Uint8Array(300).fill(0);
  augmentImage(dark, out, 10, { flip: false, angle: Math.PI / 4, scale: 1, brightness: 0, contrast: 1 });
  assert.deepEqual([...out.subarray(0, 3)], [255, 255, 255], 'corner exposed by a 45° turn is white');
  assert.deepEqual([...out.subarray(5 * 30 + 15, 5 * 30 + 18)], [0, 0, 0], 'the centre stays');
});

test('shuffleIndices, splitIndices and batchIndices are seeded and complete', () => {
  const s1 = shuffleIndices(50, 3);
  assert.deepEqual(s1, shuffleIndices(50, 3));
  assert.notDeepEqual(s1, shuffleIndices(50, 4));
  assert.deepEqual([...s1].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  const labels = Int32Array.from({ length: 90 }, (_, i) => (i < 60 ? 0 : i < 80 ? 1 : 2));
  const { a, b } = splitIndices(labels, { fraction: 0.2, seed: 1 });
  assert.equal(a.length + b.length, 90);
  assert.deepEqual([...a, ...b].sort((x, y) => x - y), Array.from({ length: 90 }, (_, i) => i));
  assert.deepEqual([0, 1, 2].map((l) => b.filter((i) => labels[i] === l).length), [12, 4, 2]);
  assert.deepEqual(splitIndices(labels, { fraction: 0.2, seed: 1 }), { a, b });
  assert.notDeepEqual(splitIndices(labels, { fraction: 0.2, seed: 2 }).b, b);
  assert.equal(splitIndices(labels, { fraction: 0.5, seed: 1, stratified: false }).b.length, 45);
  assert.throws(() => splitIndices(labels, { fraction: 1.5, seed: 1 }), /fraction must be in \[0, 1\]/);
  assert.deepEqual(batchIndices([5, 6, 7, 8, 9], 2), [[5, 6], [7, 8], [9]]);
  assert.throws(() => batchIndices([1], 0), /batchSize must be a positive integer/);
});
