/** Evaluation figures (pure: results -> plotly specs): confusion matrix heatmap and a misclassified gallery. */
import type { EvaluationReport } from '../../evaluate/metrics';
import type { MisclassifiedImage } from '../../evaluate/mistakes';
import { pngDataUri } from '../../util/png';
import type { PlotlyFigure } from './types';

/** Heatmap of `report.confusion` (rows: true class, columns: predicted), with the counts written in the cells. */
export function confusionMatrixFigure(report: EvaluationReport, options: { title?: string } = {}): PlotlyFigure {
  const { classes, confusion } = report;
  const max = Math.max(1, ...confusion.flat());
  const annotations = confusion.flatMap((row, t) =>
    row.map((v, p) => ({ x: classes[p], y: classes[t], text: String(v), showarrow: false, font: { color: v > max / 2 ? 'white' : 'black' } })),
  );
  return {
    data: [
      {
        type: 'heatmap',
        x: classes,
        y: classes,
        z: confusion,
        colorscale: 'Blues',
        // plotly 3's Blues runs dark to light: reversed, empty cells are light.
        reversescale: true,
        zmin: 0,
        zmax: max,
        hovertemplate: 'true %{y}<br>predicted %{x}<br>%{z} images<extra></extra>',
      },
    ],
    layout: {
      title: { text: options.title ?? `Confusion matrix (accuracy ${(report.accuracy * 100).toFixed(1)} %)` },
      xaxis: { title: { text: 'predicted' }, side: 'bottom' },
      yaxis: { title: { text: 'true' }, autorange: 'reversed' },
      annotations,
      width: 520,
      height: 480,
    },
    config: { displaylogo: false },
  };
}

/**
 * A grid of the most confidently misclassified images, each titled `true → predicted` with the probability
 * of every class. Images are inline PNG data URIs (plotly `image` traces), so the figure works offline.
 */
export function misclassifiedGalleryFigure(items: MisclassifiedImage[], options: { columns?: number; title?: string } = {}): PlotlyFigure {
  const title = options.title ?? 'Most confident mistakes';
  if (!items.length) {
    return {
      data: [],
      layout: {
        title: { text: title },
        annotations: [{ text: 'no misclassified images', showarrow: false, xref: 'paper', yref: 'paper', x: 0.5, y: 0.5 }],
        xaxis: { visible: false },
        yaxis: { visible: false },
        height: 200,
      },
    };
  }
  const columns = Math.max(1, Math.min(options.columns ?? 4, items.length));
  const rows = Math.ceil(items.length / columns);
  const gap = 0.04;
  const cellW = (1 - gap * (columns - 1)) / columns;
  const cellH = (1 - gap * 2 * (rows - 1)) / rows;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = { title: { text: title }, height: 60 + rows * 240, width: Math.max(480, columns * 220), showlegend: false, margin: { t: 60, l: 10, r: 10, b: 10 } };
  const annotations: Record<string, unknown>[] = [];
  items.forEach(({ example: e, pixels, size }, i) => {
    if (pixels.length !== size * size * 3) throw new Error(`misclassifiedGalleryFigure: item ${i} has ${pixels.length} bytes, expected ${size}x${size}x3`);
    const n = i + 1;
    const col = i % columns;
    const row = Math.floor(i / columns);
    const x0 = col * (cellW + gap);
    const y1 = 1 - row * (cellH + 2 * gap);
    const suffix = n === 1 ? '' : String(n);
    data.push({
      type: 'image',
      source: pngDataUri(pixels, size, size),
      xaxis: `x${suffix}`,
      yaxis: `y${suffix}`,
      hovertemplate: `${e.file ?? `image ${e.index}`}<extra></extra>`,
    });
    layout[`xaxis${suffix}`] = { domain: [x0, x0 + cellW], visible: false, anchor: `y${suffix}` };
    layout[`yaxis${suffix}`] = { domain: [Math.max(0, y1 - cellH), y1], visible: false, anchor: `x${suffix}`, scaleanchor: `x${suffix}` };
    const probs = e.probs.map((p, c) => `${c === e.predictedLabel ? '<b>' : ''}${p.toFixed(2)}${c === e.predictedLabel ? '</b>' : ''}`).join(' / ');
    annotations.push({
      text: `${e.trueClass} → ${e.predictedClass}<br><span style="font-size:10px">${probs}</span>`,
      x: x0 + cellW / 2,
      y: y1,
      xref: 'paper',
      yref: 'paper',
      xanchor: 'center',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 12 },
    });
  });
  layout.annotations = annotations;
  return { data, layout, config: { displaylogo: false } };
}
