/**
 * Display helpers for the notebooks: figures, image grids, tables and markdown.
 *
 * Inside a tslab kernel (Jupyter, or the Node notebook runner) they emit rich `text/html` display data
 * through `tslab.display`; anywhere else (the CLI, tests, a plain script) they print a text fallback, so
 * library code can call them unconditionally. tslab is required lazily: it pulls in a TypeScript compiler.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import MarkdownIt from 'markdown-it';
import type { PlotlyFigure } from './figures/types';
import { pngDataUri } from '../util/png';
import { escapeHtml, jsonForScript, scriptSafe } from './html';

/** Where display output goes. `html` is used for rich output, `text` for the plain fallback. */
export interface DisplaySink {
  html(html: string): void;
  text(text: string): void;
}

/** Attribute that marks the plotly.js bundle output, so the report renderer can inline plotly once instead. */
export const PLOTLY_BUNDLE_MARKER = 'data-rps-plotly-bundle';
/** Class of every chart `<div>`; the Chromium check counts these against drawn charts. */
export const PLOTLY_CHART_CLASS = 'rps-plotly-chart';

let sinkOverride: DisplaySink | undefined;
let plotlyInjected = false;
let plotlySource: string | undefined;

/**
 * Routes display output to `sink` (tests, custom front ends); `undefined` restores the default
 * (tslab when running inside it, else the console).
 */
export function setDisplaySink(sink: DisplaySink | undefined): void {
  sinkOverride = sink;
}

/** True when running inside a tslab kernel (Jupyter or the Node notebook runner). */
export function inTslab(): boolean {
  return (globalThis as { __tslab__?: unknown }).__tslab__ !== undefined;
}

function currentSink(): DisplaySink {
  if (sinkOverride) return sinkOverride;
  if (inTslab()) {
    const { display } = require('tslab') as { display: { html(s: string): void; text(s: string): void } };
    return { html: (s) => display.html(s), text: (s) => display.text(s) };
  }
  return { html: () => undefined, text: (s) => console.log(s) };
}

function richSink(): DisplaySink | undefined {
  return sinkOverride || inTslab() ? currentSink() : undefined;
}

/** The plotly.js bundle (plotly.js-dist-min), read once per process. */
export function plotlyJs(): string {
  if (plotlySource === undefined) {
    plotlySource = fs.readFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'), 'utf8');
  }
  return plotlySource;
}

/**
 * A `<script>` element that defines `window.Plotly`. The bundle is wrapped so that an AMD loader on the
 * page (classic Jupyter Notebook ships RequireJS) cannot capture it as an anonymous module.
 */
export function plotlyBundleScript(): string {
  return (
    `<script ${PLOTLY_BUNDLE_MARKER}="1">if (!window.Plotly) { (function (define, module, exports) {\n` +
    `${scriptSafe(plotlyJs())}\n}).call(window); }</script>`
  );
}

/** Options for `figureHtml` / `showFigure`. */
export interface FigureDisplayOptions {
  /** Chart height in pixels when the layout sets none. Default: 420. */
  height?: number;
  /** Send the plotly.js bundle again even if this kernel already did (e.g. after reloading the page). Default: false. */
  injectPlotly?: boolean;
}

/**
 * HTML for one interactive chart: a `<div>` and a script calling `Plotly.newPlot`. The page must load
 * plotly.js once (`plotlyBundleScript`); the script waits briefly for it and otherwise says what to do.
 */
export function figureHtml(fig: PlotlyFigure, options: FigureDisplayOptions = {}): string {
  checkFigure(fig);
  const id = `rps-plot-${randomBytes(6).toString('hex')}`;
  const layoutHeight = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  const height = layoutHeight ?? options.height ?? 420;
  const layout = { ...(plotlyJson(fig.layout) as Record<string, unknown>), height };
  const config = { responsive: true, displaylogo: false, ...(fig.config ?? {}) };
  const payload = jsonForScript({ data: plotlyJson(fig.data), layout, config });
  return (
    `<div id="${id}" class="${PLOTLY_CHART_CLASS}" style="width:100%;min-height:${height}px"></div>\n` +
    `<script>(function () {\n` +
    `  var fig = ${payload};\n` +
    `  var el = document.getElementById(${JSON.stringify(id)});\n` +
    `  function draw() { window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); }\n` +
    `  if (window.Plotly) { draw(); return; }\n` +
    `  var tries = 0;\n` +
    `  var timer = setInterval(function () {\n` +
    `    if (window.Plotly) { clearInterval(timer); draw(); }\n` +
    `    else if (++tries > 100) { clearInterval(timer); el.textContent = ` +
    `'plotly.js is not loaded in this page: restart the kernel, or call showFigure(fig, { injectPlotly: true }).'; }\n` +
    `  }, 50);\n` +
    `})();</script>`
  );
}

/**
 * Plain JSON for plotly: typed arrays become arrays, and `title: 'x'` becomes `title: { text: 'x' }`
 * (plotly.js 3 ignores the string form, in layout, axes and colour bars, that version 2 accepted).
 */
export function plotlyJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plotlyJson);
  // JSON would write a typed array as an object with numeric keys, which plotly cannot plot.
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = key === 'title' && typeof v === 'string' ? { text: v } : plotlyJson(v);
  }
  return out;
}

/** A one-line text description of a figure, for consoles. */
export function figureText(fig: PlotlyFigure): string {
  const title = titleOf(fig.layout) ?? 'figure';
  const traces = fig.data.map((t) => String(t.name ?? t.type ?? 'trace'));
  return `[${title}: ${fig.data.length} trace(s)${traces.length ? `: ${traces.join(', ')}` : ''}]`;
}

function titleOf(layout: Record<string, unknown>): string | undefined {
  const t = layout.title;
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { text?: unknown }).text === 'string') return (t as { text: string }).text;
  return undefined;
}

function checkFigure(fig: PlotlyFigure): void {
  if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== 'object' || fig.layout === null) {
    throw new Error('showFigure: expected a PlotlyFigure { data: object[]; layout: object; config?: object }');
  }
}

/**
 * Shows an interactive plotly chart. In a kernel, the first chart also sends plotly.js (once per kernel
 * session), so the notebook and its HTML export draw offline.
 */
export function showFigure(fig: PlotlyFigure, options: FigureDisplayOptions = {}): void {
  const sink = richSink();
  if (!sink) {
    checkFigure(fig);
    console.log(figureText(fig));
    return;
  }
  if (!plotlyInjected || options.injectPlotly) {
    sink.html(plotlyBundleScript());
    plotlyInjected = true;
  }
  sink.html(figureHtml(fig, options));
}

/** Raw pixels as the data stage produces them. */
export interface RawImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Default: 3 (RGB). */
  channels?: 3 | 4;
}

/** One image of a gallery: a data URI or raw pixels, with an optional caption. */
export interface GalleryImage {
  image: string | RawImage;
  caption?: string;
  /** Caption colour, e.g. red for a misclassified example. Default: inherit. */
  color?: string;
}

/** Options for `imagesHtml` / `showImages`. */
export interface ImageGridOptions {
  /** Images per row. Default: 6. */
  columns?: number;
  /** Displayed width of each image in pixels. Default: 120. */
  width?: number;
  /** A heading above the grid. Default: none. */
  title?: string;
}

function imageSrc(image: string | RawImage): string {
  if (typeof image === 'string') {
    if (!image.startsWith('data:image/')) throw new Error('showImages: a string image must be a data:image/... URI');
    return image;
  }
  return pngDataUri(image.pixels, image.width, image.height, image.channels ?? 3);
}

/** HTML for a grid of inline images with captions. */
export function imagesHtml(images: GalleryImage[], options: ImageGridOptions = {}): string {
  const columns = options.columns ?? 6;
  const width = options.width ?? 120;
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`showImages: columns must be a positive integer, got ${columns}`);
  const cells = images
    .map((img) => {
      const caption = img.caption
        ? `<figcaption style="font-size:12px;line-height:1.3;margin-top:2px;${img.color ? `color:${escapeHtml(img.color)};` : ''}">` +
          `${escapeHtml(img.caption)}</figcaption>`
        : '';
      return (
        `<figure style="margin:0;text-align:center">` +
        `<img src="${imageSrc(img.image)}" width="${width}" style="image-rendering:auto;border:1px solid #ddd" alt="${escapeHtml(img.caption ?? '')}">` +
        `${caption}</figure>`
      );
    })
    .join('');
  const title = options.title ? `<div style="font-weight:600;margin:4px 0">${escapeHtml(options.title)}</div>` : '';
  return (
    `<div class="rps-gallery">${title}<div style="display:grid;grid-template-columns:repeat(${columns},${width + 4}px);gap:8px">` +
    `${cells}</div></div>`
  );
}

/** Shows a grid of images (inline PNG data URIs, so reports stay self-contained). */
export function showImages(images: GalleryImage[], options: ImageGridOptions = {}): void {
  const sink = richSink();
  if (sink) {
    sink.html(imagesHtml(images, options));
    return;
  }
  const head = options.title ? `${options.title}: ` : '';
  console.log(`[${head}${images.length} image(s)${images.length ? `: ${images.map((i) => i.caption ?? '').join(' | ')}` : ''}]`);
}

/** A table row: column name to value. */
export type TableRow = Record<string, unknown>;

/** Options for `tableHtml` / `tableText` / `showTable`. */
export interface TableOptions {
  /** Columns and their order. Default: the keys of all rows, in first-seen order. */
  columns?: string[];
  /** A caption above the table. Default: none. */
  caption?: string;
  /** Decimal places for non-integer numbers. Default: 4. */
  digits?: number;
}

function tableColumns(rows: TableRow[], options: TableOptions): string[] {
  if (options.columns) return options.columns;
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

function formatCell(value: unknown, digits: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** HTML for a table. */
export function tableHtml(rows: TableRow[], options: TableOptions = {}): string {
  const digits = options.digits ?? 4;
  const cols = tableColumns(rows, options);
  const head = cols.map((c) => `<th style="text-align:left;padding:2px 10px">${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cells = cols.map((c) => {
        const v = row[c];
        const align = typeof v === 'number' ? 'right' : 'left';
        return `<td style="text-align:${align};padding:2px 10px">${escapeHtml(formatCell(v, digits))}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('');
  const caption = options.caption ? `<caption style="text-align:left;font-weight:600">${escapeHtml(options.caption)}</caption>` : '';
  return `<table class="rps-table">${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A plain-text table with aligned columns. */
export function tableText(rows: TableRow[], options: TableOptions = {}): string {
  const digits = options.digits ?? 4;
  const cols = tableColumns(rows, options);
  const cells = rows.map((row) => cols.map((c) => formatCell(row[c], digits)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (parts: string[]) => parts.map((p, i) => p.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  if (options.caption) out.unshift(options.caption);
  return out.join('\n');
}

/** Shows a table (HTML in a kernel, aligned text elsewhere). */
export function showTable(rows: TableRow[], options: TableOptions = {}): void {
  const sink = richSink();
  if (sink) sink.html(tableHtml(rows, options));
  else console.log(tableText(rows, options));
}

let markdown: InstanceType<typeof MarkdownIt> | undefined;

/** Markdown rendered to HTML (markdown-it, raw HTML allowed: the text comes from the notebook author). */
export function markdownHtml(text: string): string {
  markdown ??= new MarkdownIt({ html: true, linkify: true });
  return markdown.render(text);
}

/** Shows markdown text, e.g. a conclusion that quotes computed numbers. */
export function showMarkdown(text: string): void {
  const sink = richSink();
  if (sink) sink.html(`<div class="rps-markdown">${markdownHtml(text)}</div>`);
  else console.log(text);
}
