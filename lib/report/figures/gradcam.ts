/** The Grad-CAM figure (pure: results -> plotly spec): each image next to its heatmap overlay, with captions. */
import type { GradCamResult } from '../../evaluate/gradcam';
import { pngDataUri } from '../../util/png';
import type { PlotlyFigure } from './types';

export const GRADCAM_FIGURE_DEFAULTS = {
  /** Images (each an image + overlay pair) per row. */
  columns: 3,
  /** Weight of the heatmap colour against the image in the overlay. */
  opacity: 0.45,
  title: 'Grad-CAM: where the evidence for the class is (blue: none, red: strongest)',
} as const;

export interface GradCamFigureOptions {
  columns?: number;
  opacity?: number;
  title?: string;
}

// The 'jet' colour map as piecewise-linear ramps: 0 dark blue, 0.375 cyan, 0.625 yellow, 1 dark red.
const ramp = (v: number, centre: number): number => Math.max(0, Math.min(1, 1.5 - Math.abs(4 * v - centre)));

/** The jet colour of `v` in [0, 1], as RGB bytes. */
export function jetColor(v: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, v));
  return [Math.round(255 * ramp(t, 3)), Math.round(255 * ramp(t, 2)), Math.round(255 * ramp(t, 1))];
}

/** `rgb` (`size*size*3`) blended with the jet colours of `heatmap` (`size*size`, [0, 1]) at weight `opacity`. */
export function heatmapOverlay(rgb: Uint8Array, heatmap: ArrayLike<number>, size: number, opacity: number = GRADCAM_FIGURE_DEFAULTS.opacity): Uint8Array {
  if (rgb.length !== size * size * 3 || heatmap.length !== size * size) {
    throw new Error(`heatmapOverlay: expected ${size}x${size}x3 RGB bytes and ${size}x${size} heatmap values, got ${rgb.length} and ${heatmap.length}`);
  }
  if (!(opacity >= 0 && opacity <= 1)) throw new Error(`heatmapOverlay: opacity must be in [0, 1], got ${opacity}`);
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < size * size; i++) {
    const c = jetColor(heatmap[i]);
    for (let ch = 0; ch < 3; ch++) out[i * 3 + ch] = Math.round((1 - opacity) * rgb[i * 3 + ch] + opacity * c[ch]);
  }
  return out;
}

const caption = (r: GradCamResult): string => {
  const p = (c: number): string => r.probabilities[c].toFixed(2);
  const head = `${r.trueClass !== undefined ? `true ${r.trueClass} · ` : ''}predicted ${r.predictedClass} ${p(r.predictedIndex)}`;
  return r.classIndex === r.predictedIndex ? head : `${head}<br>map for ${r.className} ${p(r.classIndex)}`;
};

/**
 * A grid of Grad-CAM results: each image beside its overlay (jet colours, `opacity`), captioned with the true
 * class (when known), the predicted class and its probability, and the explained class when it is another
 * one; captions of mistakes are red. Images are inline PNG data URIs, so the figure works offline.
 */
export function gradCamFigure(results: GradCamResult[], options: GradCamFigureOptions = {}): PlotlyFigure {
  const title = options.title ?? GRADCAM_FIGURE_DEFAULTS.title;
  const opacity = options.opacity ?? GRADCAM_FIGURE_DEFAULTS.opacity;
  if (!results.length) {
    return {
      data: [],
      layout: { title: { text: title }, annotations: [{ text: 'no images', showarrow: false, xref: 'paper', yref: 'paper', x: 0.5, y: 0.5 }], xaxis: { visible: false }, yaxis: { visible: false }, height: 200 },
    };
  }
  const columns = Math.max(1, Math.min(options.columns ?? GRADCAM_FIGURE_DEFAULTS.columns, results.length));
  const rows = Math.ceil(results.length / columns);
  const gapX = 0.05;
  const gapY = 0.1 / Math.max(1, rows - 1);
  const pairW = (1 - gapX * (columns - 1)) / columns;
  const panelW = pairW * 0.49;
  const rowH = (1 - gapY * (rows - 1)) / rows;
  const data: Record<string, unknown>[] = [];
  const annotations: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = { title: { text: title }, width: Math.max(520, columns * 320), height: 70 + rows * 210, showlegend: false, margin: { t: 70, l: 10, r: 10, b: 10 } };
  results.forEach((r, i) => {
    if (r.rgb.length !== r.size * r.size * 3 || r.heatmap.length !== r.size * r.size) {
      throw new Error(`gradCamFigure: result ${i} has ${r.rgb.length} RGB bytes and ${r.heatmap.length} heatmap values, expected ${r.size}x${r.size}x3 and ${r.size}x${r.size}`);
    }
    const x0 = (i % columns) * (pairW + gapX);
    const top = 1 - Math.floor(i / columns) * (rowH + gapY);
    const label = r.file ?? `image ${i + 1}`;
    const panels: [string, Uint8Array, string][] = [
      ['image', r.rgb, `${label}<extra></extra>`],
      ['overlay', heatmapOverlay(r.rgb, r.heatmap, r.size, opacity), `Grad-CAM of ${r.className} at ${r.layer} (${r.mapSize.join('x')})<extra></extra>`],
    ];
    panels.forEach(([, pixels, hover], k) => {
      const n = 2 * i + k + 1;
      const s = n === 1 ? '' : String(n);
      const left = x0 + k * (pairW - panelW);
      data.push({ type: 'image', source: pngDataUri(pixels, r.size, r.size), xaxis: `x${s}`, yaxis: `y${s}`, hovertemplate: hover });
      layout[`xaxis${s}`] = { domain: [left, left + panelW], visible: false, anchor: `y${s}` };
      // The top fifth of a row is the caption's.
      layout[`yaxis${s}`] = { domain: [Math.max(0, top - rowH), top - rowH * 0.2], visible: false, anchor: `x${s}`, scaleanchor: `x${s}` };
    });
    const wrong = r.trueClass !== undefined && r.label !== r.predictedIndex;
    annotations.push({
      text: caption(r),
      x: x0 + pairW / 2,
      y: top,
      xref: 'paper',
      yref: 'paper',
      xanchor: 'center',
      yanchor: 'top',
      showarrow: false,
      font: { size: 12, color: wrong ? '#b00020' : '#222' },
    });
  });
  layout.annotations = annotations;
  return { data, layout, config: { displaylogo: false } };
}
