/** The Grad-CAM figure: an image + overlay pair per result, captions, colours; bad sizes refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GradCamResult } from '../../lib/evaluate/gradcam';
import { gradCamFigure, heatmapOverlay, jetColor } from '../../lib/report/figures/gradcam';

const size = 4;
const result = (over: Partial<GradCamResult>): GradCamResult => ({
  size,
  heatmap: Float32Array.from({ length: size * size }, (_, i) => i / (size * size - 1)),
  rgb: new Uint8Array(size * size * 3).fill(200),
  classIndex: 1,
  className: 'paper',
  predictedIndex: 1,
  predictedClass: 'paper',
  probabilities: [0.1, 0.85, 0.05],
  layer: 'out_relu',
  mapSize: [2, 2],
  score: 'logit',
  peak: 0.5,
  ...over,
});

test('jet colours run dark blue -> cyan -> yellow -> dark red; the overlay blends them at the opacity', () => {
  assert.deepEqual(jetColor(0), [0, 0, 128]);
  assert.deepEqual(jetColor(0.375), [0, 255, 255]);
  assert.deepEqual(jetColor(0.625), [255, 255, 0]);
  assert.deepEqual(jetColor(1), [128, 0, 0]);
  const rgb = new Uint8Array([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
  const out = heatmapOverlay(rgb, [0, 1, 1, 0], 2, 0.5);
  assert.deepEqual(Array.from(out.subarray(0, 6)), [50, 50, 114, 114, 50, 50]);
  assert.deepEqual(Array.from(heatmapOverlay(rgb, [0, 1, 1, 0], 2, 0)), Array.from(rgb));
  assert.throws(() => heatmapOverlay(rgb, [0, 1, 1], 2), /expected 2x2x3 RGB bytes and 2x2 heatmap values, got 12 and 3/);
  assert.throws(() => heatmapOverlay(rgb, [0, 1, 1, 0], 2, 2), /opacity must be in \[0, 1\], got 2/);
});

test('a grid of image + overlay pairs with true class, predicted class and probability; mistakes in red', () => {
  const right = result({ label: 1, trueClass: 'paper', file: '/x/paper/1.png' });
  const wrong = result({ label: 0, trueClass: 'rock' });
  const other = result({ classIndex: 0, className: 'rock' });
  const fig = gradCamFigure([right, wrong, other], { columns: 2 });
  assert.equal(fig.data.length, 6);
  assert.ok(fig.data.every((d) => d.type === 'image' && /^data:image\/png;base64,iVBOR/.test(String(d.source))));
  assert.notEqual(fig.data[0].source, fig.data[1].source, 'the overlay differs from the image');
  assert.deepEqual(fig.data.map((d) => d.xaxis), ['x', 'x2', 'x3', 'x4', 'x5', 'x6']);
  for (let n = 2; n <= 6; n++) assert.ok(fig.layout[`xaxis${n}`] && fig.layout[`yaxis${n}`]);
  // The third pair starts the second row.
  const y = (n: number): number[] => (fig.layout[n === 1 ? 'yaxis' : `yaxis${n}`] as { domain: number[] }).domain;
  assert.ok(y(5)[1] < y(1)[0]);
  assert.deepEqual(y(1), y(2));
  const notes = fig.layout.annotations as { text: string; font: { color: string } }[];
  assert.deepEqual(notes.map((a) => a.text), ['true paper · predicted paper 0.85', 'true rock · predicted paper 0.85', 'predicted paper 0.85<br>map for rock 0.10']);
  assert.deepEqual(notes.map((a) => a.font.color !== '#222'), [false, true, false]);
  assert.match(String(fig.data[0].hovertemplate), /\/x\/paper\/1\.png/);
  assert.match(String(fig.data[1].hovertemplate), /Grad-CAM of paper at out_relu \(2x2\)/);
  assert.equal(gradCamFigure([]).data.length, 0);
  assert.throws(() => gradCamFigure([result({ heatmap: new Float32Array(3) })]), /result 0 has 48 RGB bytes and 3 heatmap values, expected 4x4x3 and 4x4/);
});
