/** Figures about the data (notebooks 01 and 02): pure functions from data to plotly specs or gallery entries. */
import type { HeldOutRow } from '../../data/render/params';
import type { GalleryImage } from '../display';
import { pickPerClass, pixelGallery, type GalleryPixels } from '../gallery';
import type { PlotlyFigure } from './types';

/** One split's labels and class names (a `PixelSet`, or a `Dataset`'s items mapped to labels). */
export interface LabelledSplit {
  name: string;
  labels: ArrayLike<number>;
  classes: string[];
}

/** Grouped bars: images per class in each split. */
export function classCountsFigure(splits: LabelledSplit[]): PlotlyFigure {
  if (!splits.length) throw new Error('classCountsFigure: expected at least one split');
  const classes = splits[0].classes;
  const data = splits.map((s) => {
    const counts = classes.map(() => 0);
    for (let i = 0; i < s.labels.length; i++) counts[s.labels[i]]++;
    return { type: 'bar', name: `${s.name} (${s.labels.length})`, x: classes, y: counts, text: counts.map(String), textposition: 'auto' };
  });
  return {
    data,
    layout: {
      title: { text: 'Images per class' },
      barmode: 'group',
      xaxis: { title: { text: 'class' } },
      yaxis: { title: { text: 'images' } },
      height: 360,
      margin: { t: 50, b: 50, l: 60, r: 20 },
    },
  };
}

/**
 * Two histograms side by side: the stored uint8 values (0..255) and the same values scaled to the base's
 * input range, as the model sees them. Reads at most `maxValues` values (evenly spaced; default 200000).
 */
export function pixelRangeFigure(pixels: Uint8Array, range: [number, number], maxValues = 200_000): PlotlyFigure {
  const [lo, hi] = range;
  if (!(lo < hi)) throw new Error(`pixelRangeFigure: range must be [lo, hi] with lo < hi, got [${range.join(', ')}]`);
  const step = Math.max(1, Math.floor(pixels.length / maxValues));
  const raw: number[] = [];
  const scaled: number[] = [];
  for (let i = 0; i < pixels.length; i += step) {
    raw.push(pixels[i]);
    scaled.push(lo + (pixels[i] * (hi - lo)) / 255);
  }
  return {
    data: [
      { type: 'histogram', x: raw, name: 'stored (uint8)', xaxis: 'x', yaxis: 'y', nbinsx: 64, marker: { color: '#8c959f' } },
      { type: 'histogram', x: scaled, name: `model input [${lo}, ${hi}]`, xaxis: 'x2', yaxis: 'y2', nbinsx: 64, marker: { color: '#0969da' } },
    ],
    layout: {
      title: { text: 'Pixel values before and after scaling' },
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { title: { text: 'stored value' } },
      xaxis2: { title: { text: 'value fed to the base' } },
      yaxis: { title: { text: 'count' } },
      showlegend: true,
      height: 340,
      margin: { t: 50, b: 50, l: 60, r: 20 },
    },
  };
}

/**
 * The shifted split design at a glance: one row per held-out parameter (lib/data's `heldOutRanges()`), its
 * full range scaled to 0..1, with the bands training hands are drawn from in blue and the test hands' in
 * orange. Hovering a band shows its values in the parameter's own unit.
 */
export function heldOutRangesFigure(rows: HeldOutRow[]): PlotlyFigure {
  if (!rows.length) throw new Error('heldOutRangesFigure: expected at least one held-out parameter');
  const trace = (name: 'train' | 'test', color: string): Record<string, unknown> => {
    const y: string[] = [];
    const x: number[] = [];
    const base: number[] = [];
    const text: string[] = [];
    for (const r of rows) {
      const [lo, hi] = r.full;
      if (!(hi > lo)) throw new Error(`heldOutRangesFigure: ${r.param} has an empty full range [${lo}, ${hi}]`);
      for (const [a, b] of r[name]) {
        y.push(r.label);
        base.push((a - lo) / (hi - lo));
        x.push((b - a) / (hi - lo));
        text.push(`${name}: ${fmt(a)} to ${fmt(b)}`);
      }
    }
    return { type: 'bar', orientation: 'h', name: `${name} hands`, y, x, base, hovertext: text, hoverinfo: 'text', marker: { color }, width: 0.6 };
  };
  return {
    data: [trace('train', '#0969da'), trace('test', '#fb8500')],
    layout: {
      title: { text: 'Held-out ranges: test hands come only from the orange bands' },
      barmode: 'overlay',
      xaxis: { title: { text: 'position in the parameter\'s full range (0 = lowest, 1 = highest)' }, range: [0, 1] },
      yaxis: { autorange: 'reversed', automargin: true },
      height: 120 + 34 * rows.length,
      margin: { t: 50, b: 50, l: 20, r: 20 },
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Options of `trainTestGallery`. */
export interface TrainTestGalleryOptions {
  /** Images per class from each split. Default 3. */
  perClass?: number;
  /** Seed of the pick. Default 0. */
  seed?: number;
}

/**
 * Training and test hands side by side: one row per class, `perClass` training images then `perClass` test
 * images, captioned `train · rock` / `test · rock`. Show it with `columns: 2 * perClass`.
 */
export function trainTestGallery(train: GalleryPixels, test: GalleryPixels, options: TrainTestGalleryOptions = {}): GalleryImage[] {
  const perClass = options.perClass ?? 3;
  const seed = options.seed ?? 0;
  if (train.classes.join() !== test.classes.join()) {
    throw new Error(`trainTestGallery: train classes (${train.classes.join(', ')}) and test classes (${test.classes.join(', ')}) differ`);
  }
  const trainIdx = pickPerClass(train.labels, train.classes.length, perClass, seed);
  const testIdx = pickPerClass(test.labels, test.classes.length, perClass, seed);
  const out: GalleryImage[] = [];
  for (let c = 0; c < train.classes.length; c++) {
    const own = (set: GalleryPixels, idx: number[]): number[] => idx.filter((i) => set.labels[i] === c);
    out.push(...pixelGallery(train, own(train, trainIdx), (i) => `train · ${train.classes[train.labels[i]]}`));
    out.push(...pixelGallery(test, own(test, testIdx), (i) => `test · ${test.classes[test.labels[i]]}`));
  }
  return out;
}
