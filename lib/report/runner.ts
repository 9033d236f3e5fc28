/**
 * The Node-only notebook runner behind `npm start`: executes notebooks top to bottom in a fresh tslab
 * kernel each (no Python, no Jupyter), then writes the executed `.ipynb` and a self-contained HTML report
 * per notebook plus an index page. Every file is written atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic';
import { NotebookKernel, PROJECT_ROOT, type KernelFault } from './kernel';
import { cellSource, notebookJson, notebookTitle, readNotebook, type Notebook } from './notebook';
import { renderIndexHtml, renderNotebookHtml, type IndexEntry } from './render';

/** Options for `runNotebooks`. */
export interface RunnerOptions {
  /** Notebook files or names (`03`, `03_transfer_learning`, a path). Default: every `notebooks/*.ipynb`, sorted. */
  notebooks?: string[];
  /** Where executed notebooks and HTML reports go. Default: `<project>/reports`. */
  outDir?: string;
  /** Extra environment for the kernels, e.g. `{ RPS_SMALL: '1' }` or parameter overrides. Default: none. */
  env?: Record<string, string>;
  /** Longest one cell may run, in ms; 0 = no limit. Default: 0. */
  cellTimeoutMs?: number;
  /** How long to wait after the last cell for late faults (un-awaited promises, timers), in ms. Default: 300. */
  settleMs?: number;
  /** Also echo the cells' stdout/stderr as it arrives (training progress etc.). Default: false. */
  echo?: boolean;
  /** Progress lines (one per cell). Default: `console.log`. */
  log?: (line: string) => void;
}

/** What happened to one notebook. */
export interface NotebookRunResult {
  name: string;
  file: string;
  ok: boolean;
  seconds: number;
  /** Paths of the written executed notebook and HTML report. */
  ipynbPath: string;
  htmlPath: string;
  /** Set when a cell failed: 1-based cell number among all cells, and the error text. */
  failure?: { cell: number; message: string };
}

/** Thrown by `runNotebooks` when a notebook failed; its message names the notebook, the cell and the error. */
export class NotebookRunError extends Error {
  constructor(message: string, readonly results: NotebookRunResult[]) {
    super(message);
    this.name = 'NotebookRunError';
  }
}

/** The project's notebooks folder. */
export const NOTEBOOKS_DIR = path.join(PROJECT_ROOT, 'notebooks');

/** Resolves notebook names or paths to files; throws listing the available names when one is unknown. */
export function resolveNotebooks(specs: string[] | undefined, dir = NOTEBOOKS_DIR): string[] {
  const all = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort() : [];
  if (!specs || specs.length === 0) {
    if (!all.length) throw new Error(`no notebooks found in ${dir}`);
    return all.map((f) => path.join(dir, f));
  }
  return specs.map((spec) => {
    if (spec.endsWith('.ipynb') && fs.existsSync(spec)) return path.resolve(spec);
    const base = path.basename(spec).replace(/\.ipynb$/, '');
    const match = all.filter((f) => f === `${base}.ipynb` || f.startsWith(`${base}_`));
    if (match.length !== 1) {
      throw new Error(`notebook '${spec}': ${match.length ? 'ambiguous' : 'not found'}; available: ${all.map((f) => f.replace(/\.ipynb$/, '')).join(', ')}`);
    }
    return path.join(dir, match[0]);
  });
}

function firstLine(code: string): string {
  const line = code.split('\n').find((l) => l.trim() && !l.trim().startsWith('//')) ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/** `name: message` and the traceback, without repeating a message the traceback already holds. */
function errorText(err: { ename: string; evalue: string; traceback: string[] }): string {
  const head = `${err.ename}: ${err.evalue}`;
  const trace = err.traceback.join('\n') === err.evalue ? [] : err.traceback.slice(0, 12);
  return [head, ...trace].join('\n');
}

function faultMessage(f: KernelFault): string {
  const what = f.kind === 'unhandledRejection' ? 'unhandled promise rejection' : f.kind === 'uncaughtException' ? 'uncaught exception' : f.kind;
  return `${what}: ${f.text.split('\n').slice(0, 6).join('\n')}`;
}

function indexEntry(file: string, outDir: string, results: NotebookRunResult[]): IndexEntry {
  const name = path.basename(file, '.ipynb');
  const base = { href: `${name}.html`, notebookHref: `${name}.ipynb`, name, title: notebookTitle(readNotebook(file), name) };
  const r = results.find((x) => x.file === file);
  if (r) {
    return { ...base, status: r.ok ? 'ok' : 'failed', seconds: r.seconds, note: r.failure ? `cell ${r.failure.cell}: ${r.failure.message.split('\n')[0]}` : undefined };
  }
  const earlier = path.join(outDir, `${name}.ipynb`);
  if (fs.existsSync(earlier) && fs.existsSync(path.join(outDir, `${name}.html`))) {
    const run = readNotebook(earlier).metadata.rps_run as { ok?: boolean; seconds?: number; date?: string } | undefined;
    if (run) return { ...base, status: run.ok ? 'ok' : 'failed', seconds: run.seconds, note: `from an earlier run (${String(run.date).slice(0, 19)})` };
  }
  return { ...base, status: 'not run' };
}

/** Executes one notebook in a fresh kernel and writes its executed `.ipynb` and HTML report. */
export async function runNotebook(file: string, options: RunnerOptions = {}): Promise<NotebookRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const outDir = path.resolve(options.outDir ?? path.join(PROJECT_ROOT, 'reports'));
  const name = path.basename(file, '.ipynb');
  const nb: Notebook = readNotebook(file);
  const started = Date.now();
  const total = nb.cells.length;
  let failure: NotebookRunResult['failure'];
  let count = 0;

  const kernel = await NotebookKernel.start({
    cwd: PROJECT_ROOT,
    env: { ...(options.env ?? {}), RPS_NOTEBOOK: name },
    cellTimeoutMs: options.cellTimeoutMs ?? 0,
    onStream: options.echo ? (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text) : undefined,
  });
  try {
    for (let i = 0; i < total; i++) {
      const cell = nb.cells[i];
      if (cell.cell_type !== 'code') continue;
      const code = cellSource(cell);
      if (failure) {
        // Cells after a failure did not run: clear stale outputs so the report cannot mislead.
        cell.outputs = [];
        cell.execution_count = null;
        continue;
      }
      const run = await kernel.execute(code);
      cell.outputs = run.outputs;
      cell.execution_count = ++count;
      const late = kernel.lateFaults.splice(0);
      const status = run.ok && !late.length ? 'ok' : 'FAILED';
      log(`[${name}] cell ${i + 1}/${total} ${status} ${(run.durationMs / 1000).toFixed(1)}s  ${firstLine(code)}`);
      if (!run.ok) {
        const err = run.error;
        failure = { cell: i + 1, message: err ? errorText(err) : 'the cell failed' };
      } else if (late.length) {
        failure = { cell: i + 1, message: `after the cell finished: ${faultMessage(late[0])}` };
      }
    }
    if (!failure) {
      await kernel.settle(options.settleMs ?? 300);
      const late = kernel.lateFaults.splice(0);
      if (late.length) {
        const lastCode = nb.cells.map((c, i) => (c.cell_type === 'code' ? i + 1 : 0)).filter((n) => n > 0).pop() ?? 0;
        failure = { cell: late[0].cellId >= 0 ? lastCode : 0, message: `after the last cell finished: ${faultMessage(late[0])}` };
      }
    }
  } finally {
    await kernel.close();
  }

  const seconds = (Date.now() - started) / 1000;
  const ipynbPath = path.join(outDir, `${name}.ipynb`);
  const htmlPath = path.join(outDir, `${name}.html`);
  fs.mkdirSync(outDir, { recursive: true });
  const executed: Notebook = {
    ...nb,
    metadata: {
      ...nb.metadata,
      rps_run: { runner: 'npm start (tslab, Node only)', date: new Date().toISOString(), seconds, ok: !failure, env: options.env ?? {} },
    },
  };
  writeFileAtomic(ipynbPath, notebookJson(executed));
  const envNote = Object.keys(options.env ?? {}).length ? `; env ${Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
  const subtitle = `${name}.ipynb, executed ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC in ${seconds.toFixed(1)} s${envNote}` +
    (failure ? ` — FAILED at cell ${failure.cell}` : '');
  writeFileAtomic(htmlPath, renderNotebookHtml(executed, { title: notebookTitle(nb, name), subtitle }));
  return { name, file, ok: !failure, seconds, ipynbPath, htmlPath, failure };
}

/**
 * Runs notebooks in order, each in a fresh kernel, and writes `index.html`. Stops at the first failing
 * notebook (later ones depend on its saved results) and throws `NotebookRunError` naming the notebook,
 * the cell and the error; the reports written so far, and the index, stay on disk.
 */
export async function runNotebooks(options: RunnerOptions = {}): Promise<NotebookRunResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const outDir = path.resolve(options.outDir ?? path.join(PROJECT_ROOT, 'reports'));
  const files = resolveNotebooks(options.notebooks);
  const results: NotebookRunResult[] = [];
  let error: NotebookRunError | undefined;
  for (const file of files) {
    log(`[${path.basename(file, '.ipynb')}] running ${path.relative(process.cwd(), file) || file}`);
    const result = await runNotebook(file, { ...options, outDir, log });
    results.push(result);
    log(`[${result.name}] ${result.ok ? 'done' : 'FAILED'} in ${result.seconds.toFixed(1)} s -> ${path.relative(process.cwd(), result.htmlPath)}`);
    if (result.failure) {
      error = new NotebookRunError(
        `notebook ${path.relative(process.cwd(), file)} failed at cell ${result.failure.cell}:\n${result.failure.message}`,
        results,
      );
      break;
    }
  }
  // The index lists every notebook of the project (and any others run now); ones not run this time keep
  // the status of their earlier report, if there is one.
  const listed = [...new Set([...(fs.existsSync(NOTEBOOKS_DIR) ? resolveNotebooks(undefined) : []), ...files])];
  const entries: IndexEntry[] = listed.map((file) => indexEntry(file, outDir, results));
  const indexHtml = renderIndexHtml(entries, {
    title: 'rps-transfer: notebook reports',
    subtitle: `Transfer learning and fine-tuning on rock / paper / scissors. Generated ${new Date().toISOString().slice(0, 19)} UTC by npm start.`,
  });
  writeFileAtomic(path.join(outDir, 'index.html'), indexHtml);
  if (error) throw error;
  return results;
}
