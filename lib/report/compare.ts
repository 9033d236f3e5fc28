/** The HTML page of `npm run compare`: recorded runs compared, self-contained (plotly inlined once). */
import type { RunRecord } from '../experiment/records';
import { figureHtml, tableHtml } from './display';
import { comparisonCaption, compareRunsFigure, compareRunsTable } from './figures/runs';
import { escapeHtml } from './html';
import { renderHtmlPage } from './render';

/** A page with `compareRunsFigure`, `compareRunsTable` and the list of the records compared (`sources`: where each was read). */
export function runComparisonHtml(runs: readonly RunRecord[], options: { title?: string; sources?: string[] } = {}): string {
  const title = options.title ?? `Run comparison: ${runs.length} run${runs.length === 1 ? '' : 's'}`;
  const list = runs.map((r, i) => `<li><code>${escapeHtml(r.id)}</code> (${escapeHtml(r.phase)}, experiment <code>${escapeHtml(r.experiment.key)}</code>)${options.sources?.[i] ? `: ${escapeHtml(options.sources[i])}` : ''}</li>`);
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    figureHtml(compareRunsFigure(runs)),
    tableHtml(compareRunsTable(runs), { caption: comparisonCaption(runs) }),
    `<h2>Records</h2>\n<ol>${list.join('\n')}</ol>`,
  ].join('\n');
  return renderHtmlPage({ title, subtitle: `written ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC`, indexHref: null, body, charts: true });
}
