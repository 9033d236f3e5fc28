/** Training curves of both phases in one figure, with a marker where fine-tuning began (pure: history -> plotly spec). */
import type { TrainingHistory } from '../../train/types';
import type { PlotlyFigure } from './types';

export interface TrainingCurvesOptions {
  /** Figure title. Default 'Training and validation'. */
  title?: string;
  /** Height in pixels. Default 620. */
  height?: number;
}

/**
 * Two stacked panels (accuracy above, loss below) with training and validation curves over the continuous
 * epoch numbering of both phases, and a dashed vertical line labelled "fine-tuning" before the first
 * fine-tuning epoch (as in the Keras tutorial's chart).
 */
export function trainingCurvesFigure(history: TrainingHistory, options: TrainingCurvesOptions = {}): PlotlyFigure {
  const r = history.records;
  if (!r.length) throw new Error('trainingCurvesFigure: the history has no epochs (train first)');
  const epochs = r.map((x) => x.epoch);
  const line = (name: string, y: (number | null)[], axis: 1 | 2, colour: string, dash = 'solid') => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: epochs,
    y,
    xaxis: axis === 1 ? 'x' : 'x2',
    yaxis: axis === 1 ? 'y' : 'y2',
    line: { color: colour, dash },
    legendgroup: name.startsWith('validation') ? 'val' : 'train',
    hovertemplate: `epoch %{x}<br>${name}: %{y:.4f}<extra></extra>`,
  });
  const hasVal = r.some((x) => x.valLoss !== undefined);
  const data: Record<string, unknown>[] = [
    line('training accuracy', r.map((x) => x.accuracy), 1, '#1f77b4'),
    ...(hasVal ? [line('validation accuracy', r.map((x) => x.valAccuracy ?? null), 1, '#ff7f0e')] : []),
    line('training loss', r.map((x) => x.loss), 2, '#1f77b4', 'dot'),
    ...(hasVal ? [line('validation loss', r.map((x) => x.valLoss ?? null), 2, '#ff7f0e', 'dot')] : []),
  ];
  const shapes: Record<string, unknown>[] = [];
  const annotations: Record<string, unknown>[] = [];
  if (history.fineTuneStartEpoch !== null) {
    const x = history.fineTuneStartEpoch - 0.5;
    for (const yref of ['y domain', 'y2 domain']) {
      shapes.push({ type: 'line', xref: yref === 'y domain' ? 'x' : 'x2', yref, x0: x, x1: x, y0: 0, y1: 1, line: { color: '#2ca02c', dash: 'dash', width: 2 } });
    }
    annotations.push({ x, y: 1, xref: 'x', yref: 'y domain', text: 'fine-tuning starts', showarrow: false, xanchor: 'left', yanchor: 'bottom', font: { color: '#2ca02c' } });
  }
  return {
    data,
    layout: {
      title: { text: options.title ?? 'Training and validation' },
      height: options.height ?? 620,
      grid: { rows: 2, columns: 1, pattern: 'independent' },
      xaxis: { title: { text: 'epoch' }, dtick: 1, matches: 'x2' },
      yaxis: { title: { text: 'accuracy' } },
      xaxis2: { title: { text: 'epoch' }, dtick: 1 },
      yaxis2: { title: { text: 'cross-entropy loss' } },
      shapes,
      annotations,
      legend: { orientation: 'h', y: -0.12 },
    },
    config: { responsive: true, displaylogo: false },
  };
}
