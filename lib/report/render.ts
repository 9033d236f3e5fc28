/**
 * Self-contained HTML reports from executed notebooks: markdown rendered with markdown-it, code cells
 * highlighted, outputs (text, HTML, images) inline, and plotly.js inlined ONCE per page in the head, so a
 * report opens offline from a file.
 */
import type { Notebook, NotebookCell } from './notebook';
import { cellSource } from './notebook';
import type { NotebookOutput } from './kernel';
import { PLOTLY_BUNDLE_MARKER, PLOTLY_CHART_CLASS, markdownHtml, plotlyJs } from './display';
import { escapeHtml, scriptSafe } from './html';

/** Options for `renderNotebookHtml`. */
export interface RenderOptions {
  /** Page title. */
  title: string;
  /** A line under the title (e.g. when and how the notebook ran). Default: none. */
  subtitle?: string;
  /** Link back to the index page. Default: `index.html`; `null` for none. */
  indexHref?: string | null;
}

const STYLE = `
body { font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328;
  max-width: 1100px; margin: 0 auto; padding: 24px 28px 80px; background: #fff; }
a { color: #0969da; }
header.report { border-bottom: 1px solid #d0d7de; margin-bottom: 18px; padding-bottom: 8px; }
header.report .sub { color: #59636e; font-size: 13px; }
.cell { margin: 14px 0; }
.markdown h1 { font-size: 1.9em; margin: 0.6em 0 0.3em; } .markdown h2 { font-size: 1.45em; border-bottom: 1px solid #eaecef; }
.markdown code, .rps-markdown code { background: #f3f4f6; padding: 1px 4px; border-radius: 4px; font-size: 90%; }
.markdown table, .rps-table { border-collapse: collapse; margin: 6px 0; }
.markdown td, .markdown th, .rps-table td, .rps-table th { border: 1px solid #d0d7de; padding: 3px 10px; }
.code { display: flex; gap: 8px; }
.prompt { color: #8c959f; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; min-width: 52px;
  text-align: right; padding-top: 9px; flex: none; }
pre.source { flex: 1; margin: 0; background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px;
  overflow-x: auto; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.outputs { margin-left: 60px; margin-top: 6px; }
.output { margin: 4px 0; overflow-x: auto; }
pre.stream { margin: 0; font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; }
pre.stderr { background: #fff8e6; padding: 4px 8px; border-radius: 4px; }
pre.error { background: #ffebe9; color: #82071e; padding: 6px 10px; border-radius: 4px; white-space: pre-wrap;
  font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.tok-k { color: #cf222e; } .tok-s { color: #0a3069; } .tok-c { color: #6e7781; font-style: italic; } .tok-n { color: #0550ae; }
`;

/** Removes ANSI colour codes and applies carriage returns, as a terminal would show the text. */
export function terminalText(text: string): string {
  const plain = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  return plain
    .split('\n')
    .map((line) => {
      const parts = line.split('\r');
      // A trailing \r leaves the line as it was before the next overwrite.
      for (let i = parts.length - 1; i >= 0; i--) if (parts[i] !== '') return parts[i];
      return '';
    })
    .join('\n');
}

const KEYWORDS = new Set(
  ('const let var function return if else for while of in new await async import from export as type interface ' +
    'true false null undefined class extends throw try catch finally typeof void').split(' '),
);

/** A small TypeScript highlighter for code cells (comments, strings, keywords, numbers). */
export function highlightTs(code: string): string {
  const token = /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\b(\d+(?:\.\d+)?(?:e-?\d+)?)\b|\b([A-Za-z_$][\w$]*)\b/g;
  let out = '';
  let last = 0;
  for (let m = token.exec(code); m; m = token.exec(code)) {
    out += escapeHtml(code.slice(last, m.index));
    const text = escapeHtml(m[0]);
    if (m[1]) out += `<span class="tok-c">${text}</span>`;
    else if (m[2]) out += `<span class="tok-s">${text}</span>`;
    else if (m[3]) out += `<span class="tok-n">${text}</span>`;
    else out += KEYWORDS.has(m[4]) ? `<span class="tok-k">${text}</span>` : text;
    last = m.index + m[0].length;
  }
  return out + escapeHtml(code.slice(last));
}

function isPlotlyBundle(html: string): boolean {
  return html.includes(`${PLOTLY_BUNDLE_MARKER}=`);
}

function outputHtml(output: NotebookOutput): string {
  switch (output.output_type) {
    case 'stream': {
      const text = terminalText(Array.isArray(output.text) ? (output.text as string[]).join('') : output.text);
      return text.trim() ? `<pre class="stream ${output.name}">${escapeHtml(text.replace(/\n$/, ''))}</pre>` : '';
    }
    case 'error': {
      const trace = output.traceback.join('\n') === output.evalue ? [] : output.traceback;
      return `<pre class="error">${escapeHtml(terminalText([`${output.ename}: ${output.evalue}`, ...trace].join('\n')))}</pre>`;
    }
    case 'display_data':
    case 'execute_result': {
      const data = output.data;
      const html = data['text/html'];
      if (html !== undefined) {
        const s = Array.isArray(html) ? (html as string[]).join('') : html;
        // The page inlines plotly once in its head; the per-kernel bundle output would be a second copy.
        return isPlotlyBundle(s) ? '' : s;
      }
      for (const type of ['image/png', 'image/jpeg', 'image/gif']) {
        if (data[type]) return `<img src="data:${type};base64,${String(data[type]).replace(/\s/g, '')}">`;
      }
      if (data['image/svg+xml']) return String(data['image/svg+xml']);
      if (data['text/markdown']) return `<div class="rps-markdown">${markdownHtml(String(data['text/markdown']))}</div>`;
      if (data['text/plain'] !== undefined) return `<pre class="stream">${escapeHtml(String(data['text/plain']))}</pre>`;
      return '';
    }
  }
}

function cellHtml(cell: NotebookCell): string {
  const source = cellSource(cell);
  if (cell.cell_type === 'markdown') return `<div class="cell markdown">${markdownHtml(source)}</div>`;
  if (cell.cell_type === 'raw') return `<div class="cell raw"><pre class="stream">${escapeHtml(source)}</pre></div>`;
  const count = cell.execution_count ?? ' ';
  const outputs = (cell.outputs ?? [])
    .map(outputHtml)
    .filter((h) => h !== '')
    .map((h) => `<div class="output">${h}</div>`)
    .join('\n');
  return (
    `<div class="cell code-cell"><div class="code"><div class="prompt">[${count}]:</div>` +
    `<pre class="source"><code>${highlightTs(source)}</code></pre></div>` +
    (outputs ? `<div class="outputs">${outputs}</div>` : '') +
    `</div>`
  );
}

/** True when any output of the notebook holds a plotly chart. */
export function hasCharts(nb: Notebook): boolean {
  return nb.cells.some((c) =>
    (c.outputs ?? []).some((o) => (o.output_type === 'display_data' || o.output_type === 'execute_result') && String(o.data['text/html'] ?? '').includes(PLOTLY_CHART_CLASS)),
  );
}

/** A complete, self-contained HTML page for one executed notebook. */
export function renderNotebookHtml(nb: Notebook, options: RenderOptions): string {
  return renderPageHtml({ ...options, body: nb.cells.map(cellHtml).join('\n'), charts: hasCharts(nb) });
}

/**
 * A self-contained report page in the notebooks' style around `body` (HTML); with `charts`, plotly.js is inlined
 * once in its head (so the `figureHtml` charts in `body` draw offline).
 */
export function renderPageHtml(options: RenderOptions & { body: string; charts: boolean }): string {
  const plotly = options.charts ? `<script>${scriptSafe(plotlyJs())}</script>\n` : '';
  const back = options.indexHref === null ? '' : `<a href="${escapeHtml(options.indexHref ?? 'index.html')}">&larr; all reports</a>`;
  const sub = options.subtitle ? `<div class="sub">${escapeHtml(options.subtitle)}</div>` : '';
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(options.title)}</title>\n<style>${STYLE}</style>\n${plotly}</head>\n<body>\n` +
    `<header class="report">${back}${sub}</header>\n` +
    options.body +
    `\n</body>\n</html>\n`
  );
}

/** One line of the index page. */
export interface IndexEntry {
  /** Report file name relative to the index, e.g. `01_import_data.html`. */
  href: string;
  /** Executed notebook file name relative to the index. */
  notebookHref: string;
  title: string;
  name: string;
  status: 'ok' | 'failed' | 'not run';
  /** Seconds the notebook took. */
  seconds?: number;
  /** A short note, e.g. the failing cell. */
  note?: string;
}

/** The index page linking every report. */
export function renderIndexHtml(entries: IndexEntry[], options: { title: string; subtitle?: string }): string {
  const rows = entries
    .map((e) => {
      const color = e.status === 'ok' ? '#1a7f37' : e.status === 'failed' ? '#cf222e' : '#59636e';
      return (
        `<tr><td><a href="${escapeHtml(e.href)}">${escapeHtml(e.title)}</a><div class="sub">${escapeHtml(e.name)}` +
        ` &middot; <a href="${escapeHtml(e.notebookHref)}">.ipynb</a></div></td>` +
        `<td style="color:${color};font-weight:600">${e.status}</td>` +
        `<td style="text-align:right">${e.seconds === undefined ? '' : `${e.seconds.toFixed(1)} s`}</td>` +
        `<td>${escapeHtml(e.note ?? '')}</td></tr>`
      );
    })
    .join('\n');
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(options.title)}</title>\n` +
    `<style>${STYLE} table.index { border-collapse: collapse; width: 100%; } table.index td, table.index th ` +
    `{ border-bottom: 1px solid #d0d7de; padding: 8px 10px; text-align: left; vertical-align: top; } .sub { color: #59636e; font-size: 13px; }</style>\n` +
    `</head>\n<body>\n<h1>${escapeHtml(options.title)}</h1>\n` +
    (options.subtitle ? `<p class="sub">${escapeHtml(options.subtitle)}</p>\n` : '') +
    `<table class="index"><thead><tr><th>notebook</th><th>status</th><th>time</th><th>note</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>\n` +
    `</body>\n</html>\n`
  );
}
