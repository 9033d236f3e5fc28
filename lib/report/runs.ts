/** The notebooks' run comparison: the experiment's recorded runs of a phase, overlaid, with what differs between them. */
import { listRuns, recordsDir, type RunRecord } from '../experiment/records';
import type { Experiment } from '../experiment/prepare';
import type { TrainingPhase } from '../train/types';
import { showFigure, showMarkdown, showTable } from './display';
import { comparisonCaption, compareRunsFigure, compareRunsTable } from './figures/runs';

/** The most recent runs a notebook compares by default (more curves than this become hard to read). */
export const RUN_COMPARISON_DEFAULTS = { limit: 6 } as const;

export interface RunComparisonOptions {
  /** Only runs of this phase. Default: both. */
  phase?: TrainingPhase;
  /** The runs to compare instead of the experiment's on disk (e.g. `recentRuns(exp)`: this kernel's). */
  runs?: readonly RunRecord[];
  /** The most recent this many. Default `RUN_COMPARISON_DEFAULTS.limit`. */
  limit?: number;
}

/**
 * Shows the experiment's recorded runs (on disk: this kernel's and earlier ones with the same data, base and
 * identity parameters), the most recent `limit`: `compareRunsFigure` and `compareRunsTable`. With fewer than two
 * runs, a line saying how to get another.
 */
export function showRunComparison(exp: Pick<Experiment, 'runDir'>, options: RunComparisonOptions = {}): void {
  const limit = options.limit ?? RUN_COMPARISON_DEFAULTS.limit;
  const runs = options.runs ? options.runs.slice(-limit) : listRuns(exp, { phase: options.phase, limit });
  if (runs.length < 2) {
    const what = options.phase ? `${options.phase} run` : 'run';
    showMarkdown(
      `${runs.length === 1 ? 'One' : 'No'} ${what} of this experiment recorded so far (in \`${recordsDir(exp.runDir)}\`): ` +
        're-run the training cell with other settings, then this cell, to compare.',
    );
    return;
  }
  const title = `${runs.length} ${options.phase ? `${options.phase} ` : ''}runs of this experiment: validation accuracy and loss`;
  showFigure(compareRunsFigure(runs, { title }));
  showTable(compareRunsTable(runs), { caption: comparisonCaption(runs) });
}
