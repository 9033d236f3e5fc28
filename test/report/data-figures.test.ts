import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldOutRanges } from '../../lib/data/render/params';
import { heldOutRangesFigure, trainTestGallery } from '../../lib/report/figures/data';
import type { GalleryPixels } from '../../lib/report/gallery';

test('heldOutRangesFigure: one row per held-out parameter, train and test bands on a 0..1 scale', () => {
  const rows = heldOutRanges();
  const fig = heldOutRangesFigure(rows);
  const [train, test] = fig.data as { name: string; y: string[]; x: number[]; base: number[]; hovertext: string[] }[];
  assert.deepEqual([train.name, test.name], ['train hands', 'test hands']);
  assert.deepEqual([...new Set(test.y)], rows.map((r) => r.label));
  const skin = rows.find((r) => r.param === 'skinTone')!;
  const skinBars = test.y.map((y, i) => [y, i] as const).filter(([y]) => y === skin.label).map(([, i]) => [test.base[i], test.x[i]]);
  assert.deepEqual(skinBars.map(([b, w]) => [+b.toFixed(2), +(b + w).toFixed(2)]), skin.test.map(([a, b]) => [a, b]));
  // Per row, train and test widths add up to the whole range.
  for (const r of rows) {
    const width = (t: typeof train): number => t.y.reduce((s, y, i) => s + (y === r.label ? t.x[i] : 0), 0);
    assert.ok(Math.abs(width(train) + width(test) - 1) < 1e-9, r.param);
  }
  assert.match(test.hovertext[0], /^test: /);
  assert.throws(() => heldOutRangesFigure([]), /at least one/);
});

test('trainTestGallery: per class, training images then test images, captioned by split', () => {
  const set = (count: number, key: string): GalleryPixels & { key: string } => ({
    size: 2, count, pixels: new Uint8Array(count * 12), labels: Int32Array.from({ length: count }, (_, i) => i % 3),
    classes: ['rock', 'paper', 'scissors'], files: [], key,
  });
  const g = trainTestGallery(set(12, 'a'), set(9, 'b'), { perClass: 2 });
  assert.equal(g.length, 12);
  assert.deepEqual(g.slice(0, 4).map((e) => e.caption), ['train · rock', 'train · rock', 'test · rock', 'test · rock']);
  assert.deepEqual(g.slice(8).map((e) => e.caption), ['train · scissors', 'train · scissors', 'test · scissors', 'test · scissors']);
  assert.throws(() => trainTestGallery(set(3, 'a'), { ...set(3, 'b'), classes: ['a', 'b', 'c'] }), /classes .* differ/);
});
