/**
 * Comparing recorded runs (pure: run records -> a plotly spec and table rows): their validation curves overlaid,
 * and the parameters that differ between them beside their results.
 */
import { differingParameters, effectiveParameters, type RunRecord } from '../../experiment/records';
import type { EpochRecord } from '../../train/types';
import type { PlotlyFigure } from './types';

/** plotly's default colour sequence: run i gets colour i (mod 10) in the chart and its label in the table. */
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Differing parameters named in a run's legend label, at most (the table lists all of them). */
const LABEL_PARAMETERS = 2;

export interface CompareRunsOptions {
  /** Figure title. Default: 'N runs: validation accuracy and loss'. */
  title?: string;
  /** Height in pixels. Default 620. */
  height?: number;
}

function valueText(v: unknown): string {
  if (v === undefined || v === null) return 'default';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Each run's label, `#<n> <phase>` and its first differing parameters (`#2 head · headLearningRate 0.003`), in the given order. */
export function runLabels(runs: readonly RunRecord[]): string[] {
  const differing = differingParameters(runs).slice(0, LABEL_PARAMETERS);
  return runs.map((r, i) => {
    const values = effectiveParameters(r);
    const shown = differing.filter((k) => k in values).map((k) => `${k} ${valueText(values[k])}`);
    return [`#${i + 1} ${r.phase}`, ...shown].join(' · ');
  });
}

function checkRuns(runs: readonly RunRecord[], what: string): void {
  if (!runs.length) throw new Error(`${what}: no runs to compare`);
}

/**
 * Two stacked panels, validation accuracy above and validation loss below, one colour per run over the epochs of
 * both phases (runs may have different epoch counts and phases), and, for each fine-tuned run, a dotted vertical
 * line in its colour before its first fine-tuning epoch. A run without a validation split shows its training
 * curves instead (named so in the legend). Clicking a legend entry hides that run's curves and marker.
 */
export function compareRunsFigure(runs: readonly RunRecord[], options: CompareRunsOptions = {}): PlotlyFigure {
  checkRuns(runs, 'compareRunsFigure');
  const labels = runLabels(runs);
  const panels = [
    { axis: 1, name: 'accuracy', val: (e: EpochRecord) => e.valAccuracy, train: (e: EpochRecord) => e.accuracy },
    { axis: 2, name: 'loss', val: (e: EpochRecord) => e.valLoss, train: (e: EpochRecord) => e.loss },
  ] as const;
  const data: Record<string, unknown>[] = [];
  for (const panel of panels) {
    const series = runs.map((r) => {
      const epochs = r.history.records;
      const hasVal = epochs.some((e) => typeof panel.val(e) === 'number');
      const y = epochs.map((e) => {
        const v = hasVal ? panel.val(e) : panel.train(e);
        return typeof v === 'number' && Number.isFinite(v) ? v : null;
      });
      return { run: r, epochs, y, hasVal };
    });
    const finite = series.flatMap((s) => s.y.filter((v): v is number => v !== null));
    const [lo, hi] = finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
    const xaxis = panel.axis === 1 ? 'x' : 'x2';
    const yaxis = panel.axis === 1 ? 'y' : 'y2';
    series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const what = `${s.hasVal ? 'validation' : 'training'} ${panel.name}`;
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: s.hasVal ? labels[i] : `${labels[i]} (training: no validation split)`,
        x: s.epochs.map((e) => e.epoch),
        y: s.y,
        customdata: s.epochs.map((e) => [e.phase, e.lr]),
        xaxis,
        yaxis,
        line: { color: colour },
        marker: { size: 5 },
        legendgroup: s.run.id,
        showlegend: panel.axis === 1,
        hovertemplate: `${labels[i]}<br>epoch %{x} (%{customdata[0]}, lr %{customdata[1]:.2e})<br>${what}: %{y:.4f}<extra></extra>`,
      });
      const start = s.run.history.fineTuneStartEpoch;
      if (start !== null) {
        data.push({
          type: 'scatter',
          mode: 'lines',
          name: `${labels[i]}: fine-tuning starts`,
          x: [start - 0.5, start - 0.5],
          y: [lo, hi],
          xaxis,
          yaxis,
          line: { color: colour, dash: 'dot', width: 2 },
          legendgroup: s.run.id,
          showlegend: false,
          hovertemplate: `${labels[i]}: fine-tuning starts at epoch ${start}<extra></extra>`,
        });
      }
    });
  }
  return {
    data,
    layout: {
      title: { text: options.title ?? `${runs.length} run${runs.length === 1 ? '' : 's'}: validation accuracy and loss` },
      height: options.height ?? 620,
      grid: { rows: 2, columns: 1, pattern: 'independent' },
      xaxis: { title: { text: 'epoch' }, dtick: 1, matches: 'x2' },
      yaxis: { title: { text: 'validation accuracy' } },
      xaxis2: { title: { text: runs.some((r) => r.history.fineTuneStartEpoch !== null) ? 'epoch (dotted: fine-tuning starts)' : 'epoch' }, dtick: 1 },
      yaxis2: { title: { text: 'validation loss' } },
      legend: { orientation: 'h', y: -0.14 },
    },
    config: { responsive: true, displaylogo: false },
  };
}

/** A caption for `compareRunsTable`: what its parameter columns are, or that the runs share every parameter. */
export function comparisonCaption(runs: readonly RunRecord[]): string {
  return differingParameters(runs).length
    ? 'The parameters that differ between the runs, and their results'
    : 'The runs share every parameter; their results';
}

/** One row per run of `compareRunsTable`. */
export type RunTableRow = Record<string, string | number>;

const pct = (x: number | null | undefined) => (typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '');
const fixed = (x: number | null | undefined, digits: number) => (typeof x === 'number' ? x.toFixed(digits) : '');

/**
 * The runs side by side, labelled as in `compareRunsFigure`: when each was recorded, its experiment (only when the
 * runs come from different experiments: other data or base), exactly the parameters that differ between them
 * (their effective values: a learning rate overridden in a cell shows as that; '—' where a parameter does not
 * apply to a run), and the results: epochs this phase ran, why it stopped, the best validation accuracy of the
 * phase, the test metrics (empty until the session was evaluated) and the training seconds.
 */
export function compareRunsTable(runs: readonly RunRecord[]): RunTableRow[] {
  checkRuns(runs, 'compareRunsTable');
  const labels = runLabels(runs);
  const differing = differingParameters(runs);
  const experiments = new Set(runs.map((r) => r.experiment.key)).size > 1;
  return runs.map((r, i) => {
    const values = effectiveParameters(r);
    const own = r.history.records.filter((e) => e.phase === r.phase);
    const val = own.map((e) => e.valAccuracy).filter((v): v is number => typeof v === 'number');
    const row: RunTableRow = { run: labels[i].split(' · ')[0], recorded: `${r.createdAt.slice(0, 19).replace('T', ' ')} UTC` };
    if (experiments) row.experiment = r.experiment.key;
    for (const k of differing) row[k] = k in values ? valueText(values[k]) : '—';
    row.epochs = r.result.epochs;
    row.stopped = r.result.stopReason;
    row['best val accuracy'] = pct(val.length ? Math.max(...val) : undefined);
    row['test accuracy'] = pct(r.metrics?.accuracy);
    row['test loss'] = fixed(r.metrics?.loss, 4);
    row['macro F1'] = fixed(r.metrics?.macroF1, 4);
    row['training s'] = fixed(r.timings.trainSeconds, 1);
    return row;
  });
}
