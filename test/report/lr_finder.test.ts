/** The learning-rate finder's figure: a log axis, raw and smoothed loss, the suggestion marked and labelled. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrFinderFigure } from '../../lib/report/figures/lr_finder';
import { lrAtStep, suggestLearningRate, type LrFinderPoint, type LrFinderResult } from '../../lib/train/lr_finder';

function result(over: Partial<LrFinderResult> = {}): LrFinderResult {
  // Falls from 1.1 to 0.3 around 1e-2, then blows up: the last raw loss is far above the rest.
  const points: LrFinderPoint[] = Array.from({ length: 60 }, (_, i) => {
    const lr = lrAtStep(i, 60, 1e-6, 1);
    const x = Math.log10(lr);
    const smoothedLoss = x < -3 ? 1.1 : x < -1.5 ? 1.1 - (0.8 * (x + 3)) / 1.5 : 0.3 + (x + 1.5) * 0.6;
    return { step: i + 1, lr, loss: i === 59 ? 50 : smoothedLoss + (i % 2 ? 0.05 : -0.05), smoothedLoss };
  });
  const settings = { start: 1e-6, end: 1, steps: 60, batchSize: 32, optimizer: 'adam' as const, seed: 0, labelSmoothing: 0, smoothing: 0.98, divergeFactor: 4, parts: 1 };
  return { points, stopReason: 'completed', settings, seconds: 1, phase: 'head', cut: 'head_pool', suggestion: suggestLearningRate(points), featureSeconds: 0, ...over };
}

test('loss against a log learning-rate axis, raw and smoothed, the suggestion marked with its value and method', () => {
  const r = result();
  const fig = lrFinderFigure(r);
  const layout = fig.layout as { xaxis: { type: string }; yaxis: { range: number[] }; title: { text: string }; annotations: unknown[] };
  assert.equal(layout.xaxis.type, 'log');
  assert.equal(layout.title.text, 'Learning-rate finder: head');
  const byName = (n: string) => fig.data.find((d) => String(d.name).startsWith(n))!;
  assert.deepEqual(byName('loss per step').x, r.points.map((p) => p.lr));
  assert.deepEqual(byName('smoothed loss').y, r.points.map((p) => p.smoothedLoss));
  const marker = byName('suggested');
  assert.deepEqual(marker.x, [r.suggestion.learningRate]);
  assert.equal(marker.name, `suggested ${r.suggestion.learningRate.toExponential(1)} (minimum / 10)`);
  assert.deepEqual(marker.text, [marker.name]);
  assert.match(String(marker.hovertemplate), /a tenth of/);
  assert.deepEqual(byName('lowest smoothed loss').x, [r.suggestion.minimum.lr]);
  // The blow-up's raw loss (50) lies above the axis, which ends just above the highest smoothed loss.
  assert.ok(layout.yaxis.range[1] < 2 && layout.yaxis.range[1] > 1.1, `range ${layout.yaxis.range}`);
  assert.equal(layout.annotations.length, 0);
});

test('fine-tuning names its block; an early stop and a warning show as notes; an empty result is refused', () => {
  const r = result({ phase: 'fine-tune', fromBlock: 'block_11', stopReason: 'diverged', message: 'stopped at step 60 (learning rate 1.00e+0): ...' });
  r.suggestion = { ...r.suggestion, warning: 'the smoothed loss fell only 1.0 %' };
  const fig = lrFinderFigure(r, { title: 'T', height: 300 });
  assert.equal((fig.layout.title as { text: string }).text, 'T');
  assert.equal((lrFinderFigure(r).layout.title as { text: string }).text, 'Learning-rate finder: fine-tuning from block_11');
  const notes = (fig.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.deepEqual(notes, ['the smoothed loss fell only 1.0 %', 'stopped at step 60 (learning rate 1.00e+0): ...']);
  const steep = result();
  steep.suggestion = suggestLearningRate(steep.points, 'steepest');
  assert.match(String(lrFinderFigure(steep).data.find((d) => String(d.name).startsWith('suggested'))!.name), /\(steepest descent\)$/);
  assert.throws(() => lrFinderFigure(result({ points: [] })), /no points/);
});
