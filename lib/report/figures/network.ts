/**
 * The network as a row of blocks, each bar as tall as its parameter count (log scale), coloured by what
 * `fit` will update: trainable blocks green, frozen ones grey. For notebooks 03 (frozen base + head) and
 * 04 (after unfreezing).
 */
import type { ModelSummary } from '../../model/summary';
import type { PlotlyFigure } from './types';

export interface NetworkFigureOptions {
  /** Figure title. Default: model name, base and trainable/total parameters. */
  title?: string;
  /** Height in pixels. Default 360. */
  height?: number;
}

const TRAINABLE = '#2ca02c';
const FROZEN = '#9e9e9e';

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return String(n);
}

/** A plotly bar chart of `summary`'s blocks (weightless blocks such as the input are left out). */
export function networkFigure(summary: ModelSummary, options: NetworkFigureOptions = {}): PlotlyFigure {
  const blocks = summary.blocks.filter((b) => b.params > 0);
  const trace = (unfrozen: boolean): Record<string, unknown> => {
    const sel = blocks.filter((b) => b.unfrozen === unfrozen);
    return {
      type: 'bar',
      name: unfrozen ? 'trainable' : 'frozen',
      x: sel.map((b) => b.name),
      y: sel.map((b) => b.params),
      text: sel.map((b) => compact(b.params)),
      textposition: 'outside',
      marker: { color: unfrozen ? TRAINABLE : FROZEN },
      customdata: sel.map((b) => [b.layers, b.trainableParams, b.frozenParams]),
      hovertemplate: '%{x}<br>%{customdata[0]} layers<br>%{y:,} params<br>trainable %{customdata[1]:,}<br>frozen %{customdata[2]:,}<extra></extra>',
    };
  };
  const title =
    options.title ??
    `${summary.name}${summary.base ? ` (base ${summary.base})` : ''}: ${compact(summary.trainableParams)} of ${compact(summary.totalParams)} parameters trainable`;
  return {
    data: [trace(false), trace(true)],
    layout: {
      title: { text: title },
      barmode: 'overlay',
      height: options.height ?? 360,
      xaxis: { title: { text: 'block (input -> output)' }, type: 'category', categoryorder: 'array', categoryarray: blocks.map((b) => b.name), tickangle: -45 },
      yaxis: { title: { text: 'parameters' }, type: 'log' },
      legend: { orientation: 'h', y: 1.12 },
      margin: { t: 70, b: 90 },
    },
    config: { displaylogo: false, responsive: true },
  };
}
