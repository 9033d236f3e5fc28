/**
 * Runs the notebooks under real Jupyter (nbclient, the engine of `nbconvert --execute`, with the project's
 * tslab kernelspec), for CI. The executed notebook is written even when a cell fails.
 *
 * nbconvert alone misses failures and hides their text, so this script also:
 * - reads the kernel's fault log (jupyter/kernels/tslab-rps/launch.js appends every unhandled rejection or
 *   uncaught exception to $RPS_KERNEL_FAULT_LOG), which catches a rejection after a cell has ended, where
 *   nbconvert exits 0;
 * - scans the executed notebooks' outputs for error outputs and for the kernel's rejection/exception
 *   messages, and names the notebook and the cell.
 * Then it exports each executed notebook to HTML (lab template), for the Chromium chart check.
 *
 *   ts-node --transpile-only scripts/notebooks/run-jupyter.ts [--small] [--out reports-jupyter] [names...]
 * Environment: JUPYTER (default `jupyter`), JUPYTER_PYTHON (default /usr/bin/python3), RPS_* overrides.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/report/kernel';
import { readNotebook, cellSource, type Notebook } from '../../lib/report/notebook';
import { resolveNotebooks } from '../../lib/report/runner';

/** A problem found in an executed notebook. */
export interface NotebookProblem {
  notebook: string;
  /** 1-based cell number among all cells; 0 when not tied to a cell. */
  cell: number;
  message: string;
}

const FAULT_MARKERS = /UnhandledPromiseRejection|UncaughtException/;

/** Error outputs and kernel fault messages in an executed notebook's outputs. */
export function scanNotebook(nb: Notebook, name: string): NotebookProblem[] {
  const problems: NotebookProblem[] = [];
  nb.cells.forEach((cell, i) => {
    for (const out of cell.outputs ?? []) {
      if (out.output_type === 'error') {
        problems.push({ notebook: name, cell: i + 1, message: `${out.ename}: ${out.evalue}` });
      } else if (out.output_type === 'stream') {
        const text = Array.isArray(out.text) ? (out.text as string[]).join('') : out.text;
        const line = text.split('\n').find((l) => FAULT_MARKERS.test(l));
        if (line) problems.push({ notebook: name, cell: i + 1, message: line.trim() });
      }
    }
  });
  return problems;
}

/** Faults the kernel launcher logged (one JSON object per line). */
export function readFaultLog(file: string): { kind: string; notebook: string | null; text: string }[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { kind: string; notebook: string | null; text: string });
}

function jupyter(args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const r = spawnSync(process.env.JUPYTER ?? 'jupyter', args, { cwd: PROJECT_ROOT, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`cannot run ${process.env.JUPYTER ?? 'jupyter'}: ${r.error.message} (install jupyter-nbconvert, python3-nbclient)`);
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Executes a notebook with nbclient (scripts/notebooks/execute_notebook.py); the executed copy is always written. */
function executeNotebook(file: string, dst: string, env: NodeJS.ProcessEnv): { ok: boolean; cell: number; error: string } {
  const python = process.env.JUPYTER_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [path.join(__dirname, 'execute_notebook.py'), file, dst, '3600'], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`cannot run ${python}: ${r.error.message}`);
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as { ok: boolean; cell: number; error: string };
  } catch {
    return { ok: false, cell: 0, error: `execute_notebook.py failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join('\n')}` };
  }
}

function main(): void {
  const args = process.argv.slice(2);
  let out = path.join(PROJECT_ROOT, 'reports-jupyter');
  let small = false;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') out = path.resolve(args[++i]);
    else if (args[i] === '--small') small = true;
    else names.push(args[i]);
  }
  fs.mkdirSync(out, { recursive: true });
  const faultLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rps-jupyter-')), 'faults.jsonl');
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: [path.join(PROJECT_ROOT, 'jupyter'), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    RPS_KERNEL_FAULT_LOG: faultLog,
    ...(small ? { RPS_SMALL: '1' } : {}),
  };
  const problems: NotebookProblem[] = [];
  for (const file of resolveNotebooks(names.length ? names : undefined)) {
    const name = path.basename(file, '.ipynb');
    const started = Date.now();
    const env = { ...baseEnv, RPS_NOTEBOOK: name };
    const executedPath = path.join(out, `${name}.ipynb`);
    const exec = executeNotebook(file, executedPath, env);
    const executed = fs.existsSync(executedPath) ? readNotebook(executedPath) : undefined;
    const found = executed ? scanNotebook(executed, name) : [];
    for (const f of readFaultLog(faultLog).filter((x) => x.notebook === name)) {
      found.push({ notebook: name, cell: 0, message: `${f.kind} in the kernel (after a cell ended or between cells): ${f.text.split('\n')[0]}` });
    }
    if (!exec.ok && !found.some((p) => p.cell === exec.cell)) {
      const source = executed && exec.cell ? cellSource(executed.cells[exec.cell - 1]).split('\n')[0] : '';
      found.unshift({ notebook: name, cell: exec.cell, message: `${source ? `"${source}": ` : ''}${exec.error}` });
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${found.length ? 'FAIL' : 'ok  '} ${name} under Jupyter in ${seconds} s`);
    for (const p of found) console.log(`     cell ${p.cell || '?'}: ${p.message}`);
    problems.push(...found);
    if (found.length) break;
    const html = jupyter(['nbconvert', '--to', 'html', '--template', 'lab', executedPath, '--output-dir', out], baseEnv);
    if (html.status !== 0) {
      problems.push({ notebook: name, cell: 0, message: `HTML export failed: ${html.output.trim().split('\n').slice(-3).join(' ')}` });
      break;
    }
  }
  if (problems.length) {
    const p = problems[0];
    console.error(`run-jupyter: notebook ${p.notebook} failed${p.cell ? ` at cell ${p.cell}` : ''}: ${p.message}`);
    process.exit(1);
  }
  console.log(`executed notebooks and HTML exports in ${path.relative(process.cwd(), out) || '.'}`);
}

if (require.main === module) main();
