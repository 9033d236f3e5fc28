/** The learning-rate finder's curve (pure: `findLearningRate`'s result -> plotly spec). */
import type { LrFinderResult } from '../../train/lr_finder';
import type { PlotlyFigure } from './types';

export interface LrFinderFigureOptions {
  /** Default: 'Learning-rate finder: <phase>' (and the first unfrozen block for fine-tuning). */
  title?: string;
  /** Height in pixels. Default `LR_FINDER_FIGURE_DEFAULTS`. */
  height?: number;
}

export const LR_FINDER_FIGURE_DEFAULTS = { height: 460 } as const;

const METHOD_LABEL = { minimum: 'minimum / 10', steepest: 'steepest descent' } as const;

/**
 * Loss against learning rate on a log axis: every step's loss (thin, grey) and the smoothed loss (blue), the
 * lowest smoothed loss marked, and the suggested rate as a dashed red line labelled with its value and how it was
 * chosen. The loss axis ends a little above the highest smoothed loss, so the blow-up at the end does not
 * flatten the interesting part. A warning of the suggestion, or why the test stopped early, shows below the title.
 */
export function lrFinderFigure(result: LrFinderResult, options: LrFinderFigureOptions = {}): PlotlyFigure {
  const pts = result.points;
  if (!pts.length) throw new Error('lrFinderFigure: the result has no points');
  const s = result.suggestion;
  const lrs = pts.map((p) => p.lr);
  const smoothed = pts.map((p) => p.smoothedLoss);
  const lo = Math.min(...smoothed, ...pts.map((p) => p.loss));
  const hi = Math.max(...smoothed);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
  const yRange = [Math.max(0, lo - pad), hi + pad];
  // The smoothed loss at the suggested rate (nearest step on the log axis), where the marker sits.
  const near = pts.reduce((a, p) => (Math.abs(Math.log(p.lr / s.learningRate)) < Math.abs(Math.log(a.lr / s.learningRate)) ? p : a), pts[0]);
  const label = `suggested ${s.learningRate.toExponential(1)} (${METHOD_LABEL[s.method]})`;
  const data: Record<string, unknown>[] = [
    { type: 'scatter', mode: 'lines', name: 'loss per step', x: lrs, y: pts.map((p) => p.loss), line: { color: '#b0b0b0', width: 1 }, hovertemplate: 'lr %{x:.2e}<br>loss %{y:.4f}<extra></extra>' },
    { type: 'scatter', mode: 'lines', name: 'smoothed loss', x: lrs, y: smoothed, line: { color: '#1f77b4', width: 2.5 }, hovertemplate: 'lr %{x:.2e}<br>smoothed loss %{y:.4f}<extra></extra>' },
    {
      type: 'scatter',
      mode: 'markers',
      name: 'lowest smoothed loss',
      x: [s.minimum.lr],
      y: [s.minimum.smoothedLoss],
      marker: { color: '#555', size: 9, symbol: 'circle-open', line: { width: 2 } },
      hovertemplate: 'lowest smoothed loss %{y:.4f}<br>at lr %{x:.2e}<extra></extra>',
    },
    // A trace, not a shape: shapes and annotations on a log axis take log10 coordinates, traces take the rates.
    { type: 'scatter', mode: 'lines', showlegend: false, hoverinfo: 'skip', x: [s.learningRate, s.learningRate], y: yRange, line: { color: '#d62728', dash: 'dash', width: 2 } },
    {
      type: 'scatter',
      mode: 'markers+text',
      name: label,
      x: [s.learningRate],
      y: [near.smoothedLoss],
      text: [label],
      textposition: 'top right',
      textfont: { color: '#d62728' },
      marker: { color: '#d62728', size: 12, symbol: 'star' },
      hovertemplate: `${s.reason}<extra></extra>`,
    },
  ];
  const notes = [s.warning, result.stopReason === 'completed' ? undefined : result.message].filter((t): t is string => !!t);
  const phase = result.phase === 'head' ? 'head' : `fine-tuning${result.fromBlock ? ` from ${result.fromBlock}` : ''}`;
  return {
    data,
    layout: {
      title: { text: options.title ?? `Learning-rate finder: ${phase}` },
      height: options.height ?? LR_FINDER_FIGURE_DEFAULTS.height,
      xaxis: { type: 'log', title: { text: 'learning rate (log scale)' }, exponentformat: 'power' },
      yaxis: { title: { text: 'training loss' }, range: yRange },
      annotations: notes.map((text, i) => ({ text, xref: 'paper', yref: 'paper', x: 0, y: 1 - i * 0.06, xanchor: 'left', yanchor: 'top', showarrow: false, font: { color: '#8c564b' } })),
      legend: { orientation: 'h', y: -0.2 },
    },
    config: { responsive: true, displaylogo: false },
  };
}
