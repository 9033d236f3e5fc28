/** Reading and writing Jupyter notebooks (nbformat 4). */
import * as fs from 'node:fs';
import type { NotebookOutput } from './kernel';

export interface NotebookCell {
  cell_type: 'markdown' | 'code' | 'raw';
  id?: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Reads and checks a notebook file; throws naming the file when it is not nbformat 4. */
export function readNotebook(file: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
  } catch (err) {
    throw new Error(`${file}: not a readable notebook (${(err as Error).message})`);
  }
  if (!nb || nb.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new Error(`${file}: expected an nbformat 4 notebook with a "cells" array`);
  }
  nb.cells.forEach((cell, i) => {
    if (!['markdown', 'code', 'raw'].includes(cell.cell_type)) {
      throw new Error(`${file}: cell ${i + 1} has unknown cell_type ${JSON.stringify(cell.cell_type)}`);
    }
    if (cell.outputs) cell.outputs = cell.outputs.map(normalizeOutput);
  });
  return nb;
}

/** Jupyter may store multi-line texts as lists of lines; in memory they are single strings. */
function normalizeOutput(output: NotebookOutput): NotebookOutput {
  const join = (v: unknown): string => (Array.isArray(v) ? v.join('') : String(v));
  if (output.output_type === 'stream') return { ...output, text: join(output.text) };
  if (output.output_type === 'display_data' || output.output_type === 'execute_result') {
    const data = Object.fromEntries(Object.entries(output.data).map(([k, v]) => [k, typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : join(v)]));
    return { ...output, data };
  }
  return output;
}

/** A cell's source as one string. */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Splits text into Jupyter's list-of-lines form (each line keeps its newline). */
export function toLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Serialises a notebook the way Jupyter does (sources and stream texts as line lists, 1-space indent). */
export function notebookJson(nb: Notebook): string {
  const cells = nb.cells.map((cell) => {
    const out: Record<string, unknown> = { ...cell, source: toLines(cellSource(cell)) };
    if (cell.outputs) {
      out.outputs = cell.outputs.map((o) => (o.output_type === 'stream' ? { ...o, text: toLines(o.text) } : o));
    }
    return out;
  });
  return JSON.stringify({ ...nb, cells }, null, 1) + '\n';
}

/** The first markdown heading of a notebook, else `fallback`. */
export function notebookTitle(nb: Notebook, fallback: string): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'markdown') continue;
    const m = /^#{1,3}\s+(.+)$/m.exec(cellSource(cell));
    if (m) return m[1].trim();
  }
  return fallback;
}
