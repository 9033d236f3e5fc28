/**
 * The Node-only notebook runner on small notebooks made here: outputs captured into the executed .ipynb,
 * a self-contained HTML report with plotly inlined once, the index page, and failures (a throwing cell, a
 * rejection after the last cell) named by notebook and cell.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotebookRunError, runNotebooks } from '../../lib/report/runner';
import { readNotebook } from '../../lib/report/notebook';
import { countDrawnCharts } from '../../scripts/notebooks/check-reports';

function writeNotebook(dir: string, name: string, cells: { md?: string; code?: string }[]): string {
  const file = path.join(dir, `${name}.ipynb`);
  const nb = {
    cells: cells.map((c, i) =>
      c.md !== undefined
        ? { cell_type: 'markdown', id: `m${i}`, metadata: {}, source: c.md }
        : { cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source: c.code },
    ),
    metadata: { kernelspec: { name: 'tslab-rps', display_name: 'TypeScript (rps-transfer)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

const IMPORT = 'import { showFigure, showTable } from "./lib/report/display";';

test('runNotebooks: executed notebook, HTML report with plotly once, index page', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-runner-'));
  try {
    const file = writeNotebook(dir, 'ok_nb', [
      { md: '# A tiny report\nSome *text*.' },
      { code: `${IMPORT}\nconsole.log("hello", 1 + 1);` },
      { code: 'showFigure({ data: [{ type: "bar", y: [1, 2] }], layout: { title: "one" } });\nshowFigure({ data: [{ y: [3, 1] }], layout: {} });' },
      { code: 'showTable([{ a: 1 }]);\nconst x: number = 40;\nx + 2' },
    ]);
    const lines: string[] = [];
    const out = path.join(dir, 'reports');
    const results = await runNotebooks({ notebooks: [file], outDir: out, log: (l) => lines.push(l) });
    assert.equal(results.length, 1);
    assert.ok(results[0].ok);
    assert.equal(lines.filter((l) => /cell \d+\/4 ok/.test(l)).length, 3, lines.join('\n'));

    const executed = readNotebook(path.join(out, 'ok_nb.ipynb'));
    const code = executed.cells.filter((c) => c.cell_type === 'code');
    assert.deepEqual(code.map((c) => c.execution_count), [1, 2, 3]);
    assert.deepEqual(code[0].outputs, [{ output_type: 'stream', name: 'stdout', text: 'hello 2\n' }]);
    assert.equal(code[1].outputs?.length, 3, 'plotly bundle once, then two charts');
    const last = code[2].outputs ?? [];
    assert.ok(last.some((o) => o.output_type === 'display_data' && String(o.data['text/html']).includes('<table')));
    assert.ok(last.some((o) => o.output_type === 'stream' && o.text === '42\n'));
    assert.ok(Array.isArray(JSON.parse(fs.readFileSync(path.join(out, 'ok_nb.ipynb'), 'utf8')).cells[0].source), 'sources as line lists');

    const html = fs.readFileSync(path.join(out, 'ok_nb.html'), 'utf8');
    assert.equal(html.split('* plotly.js v').length - 1, 1, 'plotly inlined exactly once');
    assert.equal(html.includes('data-rps-plotly-bundle'), false, "the kernel's bundle output is not copied again");
    assert.equal(countDrawnCharts(html).charts, 2);
    assert.ok(html.includes('<h1>A tiny report</h1>') && html.includes('hello 2'));
    const index = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.ok(index.includes('href="ok_nb.html"') && index.includes('A tiny report') && index.includes('>ok<'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runNotebooks: a failing cell is named with its error; later cells do not run', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-runner-'));
  try {
    const file = writeNotebook(dir, 'bad_nb', [
      { md: '# Bad' },
      { code: 'console.log("first");' },
      { code: 'throw new Error("boom at three");' },
      { code: 'console.log("never");' },
    ]);
    const out = path.join(dir, 'reports');
    await assert.rejects(
      runNotebooks({ notebooks: [file], outDir: out, log: () => undefined }),
      (err: unknown) => {
        assert.ok(err instanceof NotebookRunError);
        assert.match(err.message, /bad_nb\.ipynb failed at cell 3:\nError: boom at three/);
        return true;
      },
    );
    const executed = readNotebook(path.join(out, 'bad_nb.ipynb'));
    assert.deepEqual(executed.cells[3].outputs, []);
    assert.equal(executed.cells[2].outputs?.[0].output_type, 'error');
    assert.ok(fs.readFileSync(path.join(out, 'bad_nb.html'), 'utf8').includes('FAILED at cell 3'));
    assert.ok(fs.readFileSync(path.join(out, 'index.html'), 'utf8').includes('failed'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runNotebooks: a rejection after the last cell ended fails the notebook', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-runner-'));
  try {
    const late = writeNotebook(dir, 'late_nb', [{ code: 'setTimeout(() => { Promise.reject(new Error("too late")); }, 20);\n"started"' }]);
    await assert.rejects(runNotebooks({ notebooks: [late], outDir: dir, log: () => undefined }), /late_nb\.ipynb failed at cell 1:\nafter the last cell finished: unhandled promise rejection: Error: too late/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

