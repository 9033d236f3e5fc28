/** Figures about the data (notebooks 01 and 02): pure functions from data to plotly specs. */
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
