import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentImage, augmentParams, augmentPixels, DEFAULT_AUGMENT, erasedPixels, type AugmentParams } from '../../lib/data/augment';

/** The wider options switched off (the defaults switch some on). */
const NO_WIDER = { translate: 0, scale: 0, hue: 0, saturation: 0, blur: 0, erasing: 0 };
/** Every option switched off. */
const ALL_OFF = { flip: false, rotation: 0, zoom: 0, brightness: 0, contrast: 0, ...NO_WIDER };
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
    const d = DEFAULT_AUGMENT;
    assert.ok(Math.abs(p.angle) <= d.rotation * 2 * Math.PI);
    assert.ok(p.scale >= 1 - d.zoom && p.scale <= 1 + d.zoom);
    assert.ok(Math.abs(p.brightness) <= d.brightness * 255 + 1e-9);
    assert.ok(p.contrast >= 1 - d.contrast && p.contrast <= 1 + d.contrast);
    assert.ok(Math.abs(p.translateX!) <= d.translate && p.scaleX! >= 1 - d.scale && p.scaleX! <= 1 + d.scale && Math.abs(p.hue!) <= d.hue * 2 * Math.PI);
  }
  const flips = Array.from({ length: 200 }, (_, i) => augmentParams({}, 1, i).flip).filter(Boolean).length;
  assert.ok(flips > 70 && flips < 130, `about half flipped: ${flips}`);
  const off = augmentParams(ALL_OFF, 1, 3);
  assert.deepEqual([off.flip, off.angle, off.scale, off.brightness, off.contrast], [false, 0, 1, 0, 1]);
  // Switching one off keeps the others' draws.
  const full = augmentParams({}, 1, 3);
  const noRot = augmentParams({ rotation: 0 }, 1, 3);
  assert.equal(noRot.scale, full.scale);
  assert.equal(noRot.flip, full.flip);
  const set = fixtureSet(2, 8);
  assert.equal(augmentPixels(set, { seed: 1, ...ALL_OFF }), set);
  assert.throws(() => augmentPixels(set, { seed: 1, rotation: 2 }), /augment.rotation: expected a number in \[0, 1\)/);
});

test('a pure flip mirrors exactly', () => {
  const set = fixtureSet(1, 10);
  const out = new Uint8Array(300);
  augmentImage(set.pixels, out, 10, { flip: true, angle: 0, scale: 1, brightness: 0, contrast: 1 });
  for (let y = 0; y < 10; y++) {
    for (let x = 0; x < 10; x++) {
      for (let ch = 0; ch < 3; ch++) assert.equal(out[(y * 10 + x) * 3 + ch], set.pixels[(y * 10 + 9 - x) * 3 + ch]);
    }
  }
});

const NONE: AugmentParams = { flip: false, angle: 0, scale: 1, brightness: 0, contrast: 1 };

function run(src: Uint8Array, size: number, p: Partial<AugmentParams>): Uint8Array {
  const out = new Uint8Array(src.length);
  augmentImage(src, out, size, { ...NONE, ...p });
  return out;
}

/** A colourful test image: smooth hue and brightness ramps. */
function colourful(size: number): Uint8Array {
  const img = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      img[o] = 40 + (180 * x) / size;
      img[o + 1] = 40 + (180 * y) / size;
      img[o + 2] = 200 - (150 * (x + y)) / (2 * size);
    }
  }
  return img;
}

const luma = (img: Uint8Array, o: number): number => 0.299 * img[o] + 0.587 * img[o + 1] + 0.114 * img[o + 2];

test('rotation and zoom fill uncovered pixels from the image border, not white', () => {
  const dark = new Uint8Array(300).fill(0);
  for (const fill of ['reflect', 'replicate'] as const) {
    const out = run(dark, 10, { angle: Math.PI / 4, scale: 0.7, fill });
    assert.deepEqual([...out.subarray(0, 3)], [0, 0, 0], `${fill}: the corner a 45° turn uncovers comes from the image`);
    assert.ok(out.every((v) => v === 0), `${fill}: a uniform image stays uniform`);
  }
  // A left-to-right ramp shifted right: replicate repeats column 0, reflect mirrors the first columns.
  const ramp = new Uint8Array(8 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) ramp.fill(x * 30, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3);
  const rep = run(ramp, 8, { translateX: 3 / 8, fill: 'replicate' });
  const ref = run(ramp, 8, { translateX: 3 / 8, fill: 'reflect' });
  assert.deepEqual([0, 1, 2, 3, 4].map((x) => rep[x * 3]), [0, 0, 0, 0, 30]);
  assert.deepEqual([0, 1, 2, 3, 4].map((x) => ref[x * 3]), [60, 30, 0, 0, 30]);
  assert.equal(augmentParams({}, 1, 0).fill, 'reflect', 'reflect by default, like Keras');
});

test('translate moves the content by whole pixels and changes nothing else', () => {
  const img = colourful(12);
  const out = run(img, 12, { translateX: 2 / 12, translateY: -3 / 12 });
  for (let y = 0; y < 9; y++) {
    for (let x = 2; x < 12; x++) {
      for (let ch = 0; ch < 3; ch++) assert.equal(out[(y * 12 + x) * 3 + ch], img[((y + 3) * 12 + x - 2) * 3 + ch]);
    }
  }
  for (let i = 0; i < 100; i++) {
    const p = augmentParams({ ...NO_WIDER, translate: 0.2 }, 3, i);
    assert.ok(Math.abs(p.translateX!) <= 0.2 && Math.abs(p.translateY!) <= 0.2);
    assert.deepEqual([p.scaleX, p.scaleY, p.hue, p.saturation, p.blur, p.erase], [1, 1, 0, 1, 0, undefined]);
  }
});

test('scale stretches each axis on its own: an image constant along x is unchanged by an x stretch', () => {
  const rows = new Uint8Array(10 * 10 * 3);
  for (let y = 0; y < 10; y++) rows.fill(y * 20 + 5, y * 30, (y + 1) * 30);
  assert.deepEqual(run(rows, 10, { scaleX: 1.3 }), rows);
  assert.notDeepEqual(run(rows, 10, { scaleY: 1.3 }), rows);
  const p = augmentParams({ scale: 0.2 }, 4, 7);
  assert.ok(p.scaleX !== p.scaleY && Math.abs(p.scaleX! - 1) <= 0.2 && Math.abs(p.scaleY! - 1) <= 0.2);
  assert.equal(p.scale, augmentParams({}, 4, 7).scale, 'zoom keeps its draw');
});

test('hue and saturation change the colours but keep each pixel\'s luma', () => {
  const img = colourful(16);
  for (const p of [{ hue: 2.1 }, { saturation: 0.3 }, { hue: -1, saturation: 1.4 }]) {
    const out = run(img, 16, p);
    let dLuma = 0;
    let dColour = 0;
    for (let o = 0; o < img.length; o += 3) {
      dLuma += Math.abs(luma(out, o) - luma(img, o));
      dColour += Math.abs(out[o] - img[o]) + Math.abs(out[o + 2] - img[o + 2]);
    }
    const n = img.length / 3;
    assert.ok(dLuma / n < 1.5, `${JSON.stringify(p)}: mean luma change ${dLuma / n}`);
    assert.ok(dColour / n > 10, `${JSON.stringify(p)}: colours should change (${dColour / n})`);
  }
  const grey = run(img, 16, { saturation: 0 });
  for (let o = 0; o < grey.length; o += 3) assert.ok(Math.abs(grey[o] - grey[o + 2]) <= 1 && Math.abs(luma(grey, o) - luma(img, o)) < 1.5);
  const neutral = new Uint8Array(16 * 16 * 3).fill(128);
  assert.deepEqual(run(neutral, 16, { hue: 1 }), neutral, 'a grey image has no hue to turn');
});

test('blur smooths edges, keeps the mean and leaves flat images alone', () => {
  const edge = new Uint8Array(16 * 16 * 3);
  for (let y = 0; y < 16; y++) edge.fill(255, (y * 16 + 8) * 3, (y * 16 + 16) * 3);
  const out = run(edge, 16, { blur: 1.5, fill: 'replicate' });
  assert.ok(out[(5 * 16 + 7) * 3] > 40 && out[(5 * 16 + 7) * 3] < 128, `just left of the edge: ${out[(5 * 16 + 7) * 3]}`);
  assert.ok(out[(5 * 16 + 8) * 3] > 128 && out[(5 * 16 + 8) * 3] < 215, `just right of the edge: ${out[(5 * 16 + 8) * 3]}`);
  assert.equal(out[(5 * 16 + 0) * 3], 0, 'far from the edge unchanged');
  const mean = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(out) - mean(edge)) < 1);
  const flat = new Uint8Array(16 * 16 * 3).fill(77);
  assert.deepEqual(run(flat, 16, { blur: 3 }), flat);
  for (let i = 0; i < 50; i++) assert.ok(augmentParams({ blur: 2 }, 1, i).blur! <= 2);
});

test('erasing replaces one bounded rectangle with noise and touches nothing outside it', () => {
  const img = colourful(20);
  let erased = 0;
  for (let i = 0; i < 200; i++) {
    const p = augmentParams({ ...ALL_OFF, erasing: 0.5 }, 9, i);
    if (!p.erase) continue;
    erased++;
    const { w, h } = p.erase;
    assert.ok(w * h >= 0.02 - 1e-9 && w * h <= 0.33 + 1e-9 && p.erase.x >= 0 && p.erase.y >= 0 && p.erase.x + w <= 1 + 1e-9 && p.erase.y + h <= 1 + 1e-9);
    if (erased > 5) continue;
    const out = run(img, 20, p);
    const r = erasedPixels(p.erase, 20);
    let changed = 0;
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        const inside = x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;
        const o = (y * 20 + x) * 3;
        const same = out[o] === img[o] && out[o + 1] === img[o + 1] && out[o + 2] === img[o + 2];
        if (!inside) assert.ok(same, `pixel ${x},${y} outside the rectangle changed`);
        else if (!same) changed++;
      }
    }
    assert.ok(changed > 0.9 * (r.x1 - r.x0) * (r.y1 - r.y0), 'the rectangle is noise');
    assert.deepEqual(run(img, 20, p), out, 'the same noise for the same parameters');
  }
  assert.ok(erased > 70 && erased < 130, `about half erased: ${erased}`);
});

test('the wider options keep the other draws when switched on or off, are deterministic per seed and checked', () => {
  const wide = { translate: 0.1, scale: 0.1, hue: 0.05, saturation: 0.3, blur: 1, erasing: 0.5 };
  for (let i = 0; i < 20; i++) {
    const d = augmentParams(NO_WIDER, 2, i);
    const w = augmentParams(wide, 2, i);
    assert.deepEqual([w.flip, w.angle, w.scale, w.brightness, w.contrast], [d.flip, d.angle, d.scale, d.brightness, d.contrast]);
    assert.deepEqual([d.translateX, d.translateY, d.scaleX, d.scaleY, d.hue, d.saturation, d.blur, d.erase], [0, 0, 1, 1, 0, 1, 0, undefined]);
  }
  const set = fixtureSet(4, 16);
  const a = augmentPixels(set, { seed: 3, ...wide });
  assert.deepEqual(augmentPixels(set, { seed: 3, ...wide }).pixels, a.pixels);
  assert.notDeepEqual(augmentPixels(set, { seed: 4, ...wide }).pixels, a.pixels);
  assert.notEqual(a.key, augmentPixels(set, { seed: 3 }).key);
  assert.notEqual(augmentPixels(set, { seed: 1, ...ALL_OFF, blur: 1 }), set, 'one wider option alone is not the identity');
  assert.equal(augmentPixels(set, { seed: 1, ...ALL_OFF }), set);
  assert.throws(() => augmentPixels(set, { seed: 1, hue: 0.6 }), /augment.hue: expected a number in \[0, 0.5\]/);
  assert.throws(() => augmentPixels(set, { seed: 1, translate: 1 }), /augment.translate: expected a number in \[0, 1\)/);
  assert.throws(() => augmentPixels(set, { seed: 1, blur: -1 }), /augment.blur/);
  assert.throws(() => augmentPixels(set, { seed: 1, fill: 'white' as never }), /augment.fill: expected one of reflect, replicate/);
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
