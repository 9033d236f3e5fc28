import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasCharts, highlightTs, renderIndexHtml, renderNotebookHtml, terminalText } from '../../lib/report/render';
import { figureHtml, plotlyBundleScript } from '../../lib/report/display';
import { notebookJson, readNotebook, toLines, type Notebook } from '../../lib/report/notebook';
import { countDrawnCharts } from '../../scripts/notebooks/check-reports';
import { readFaultLog, scanNotebook } from '../../scripts/notebooks/run-jupyter';

function nb(outputs: Notebook['cells'][number]['outputs']): Notebook {
  return {
    cells: [
      { cell_type: 'markdown', metadata: {}, source: ['# Title\n', 'text'] },
      { cell_type: 'code', metadata: {}, source: 'const a = "x"; // note', execution_count: 1, outputs },
    ],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
}

test('terminalText: ANSI codes removed, carriage returns overwrite the line', () => {
  assert.equal(terminalText('\x1b[32mok\x1b[0m\nepoch 1/3\repoch 2/3\repoch 3/3\ndone\r'), 'ok\nepoch 3/3\ndone');
});

test('highlightTs: keywords, strings, comments, numbers; the rest escaped', () => {
  assert.equal(
    highlightTs('const a = "<b>" + 1; // c'),
    '<span class="tok-k">const</span> a = <span class="tok-s">&quot;&lt;b&gt;&quot;</span> + <span class="tok-n">1</span>; <span class="tok-c">// c</span>',
  );
});

test('renderNotebookHtml: plotly inlined once only when there are charts; kernel bundle outputs dropped', () => {
  const chart = figureHtml({ data: [{ y: [1] }], layout: {} });
  const withCharts = nb([
    { output_type: 'display_data', data: { 'text/html': plotlyBundleScript() }, metadata: {} },
    { output_type: 'display_data', data: { 'text/html': chart }, metadata: {} },
    { output_type: 'display_data', data: { 'text/html': chart }, metadata: {} },
    { output_type: 'stream', name: 'stderr', text: 'warn\n' },
    { output_type: 'error', ename: 'Error', evalue: 'bad <x>', traceback: ['at y'] },
  ]);
  assert.ok(hasCharts(withCharts));
  const html = renderNotebookHtml(withCharts, { title: 'T', subtitle: 'sub' });
  assert.equal(html.split('* plotly.js v').length - 1, 1);
  assert.equal(html.includes('data-rps-plotly-bundle'), false);
  assert.equal(countDrawnCharts(html).charts, 2);
  assert.ok(html.includes('<h1>Title</h1>') && html.includes('class="stream stderr">warn') && html.includes('Error: bad &lt;x&gt;\nat y'));
  const plain = renderNotebookHtml(nb([{ output_type: 'stream', name: 'stdout', text: 'hi\n' }]), { title: 'T', indexHref: null });
  assert.equal(plain.includes('plotly.js v'), false);
  assert.equal(plain.includes('all reports'), false);
});

test('countDrawnCharts: a chart counts as drawn only when plotly put its svg inside', () => {
  const drawn = '<div id="a" class="rps-plotly-chart js-plotly-plot"><div class="plot-container"><svg class="main-svg"></svg></div></div><script></script>';
  const empty = '<div id="b" class="rps-plotly-chart" style=""></div><p>text</p>';
  assert.deepEqual(countDrawnCharts(drawn + empty), { charts: 2, drawn: 1, missing: ['b'] });
  assert.deepEqual(countDrawnCharts(empty + drawn), { charts: 2, drawn: 1, missing: ['b'] });
});

test('notebook files: Jupyter line lists round-trip; bad files are named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-nbjson-'));
  try {
    const file = path.join(dir, 'n.ipynb');
    fs.writeFileSync(file, notebookJson(nb([{ output_type: 'stream', name: 'stdout', text: 'a\nb\n' }])));
    const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(raw.cells[1].outputs[0].text, ['a\n', 'b\n']);
    const back = readNotebook(file);
    assert.deepEqual(back.cells[1].outputs, [{ output_type: 'stream', name: 'stdout', text: 'a\nb\n' }]);
    fs.writeFileSync(file, '{"nbformat": 3}');
    assert.throws(() => readNotebook(file), /n\.ipynb: expected an nbformat 4 notebook/);
    assert.deepEqual(toLines('x\ny'), ['x\n', 'y']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('renderIndexHtml lists every notebook with status and note', () => {
  const html = renderIndexHtml(
    [
      { href: 'a.html', notebookHref: 'a.ipynb', name: 'a', title: 'A <1>', status: 'ok', seconds: 3.25 },
      { href: 'b.html', notebookHref: 'b.ipynb', name: 'b', title: 'B', status: 'failed', note: 'cell 4: Error: x' },
    ],
    { title: 'Reports' },
  );
  assert.ok(html.includes('A &lt;1&gt;') && html.includes('3.3 s') && html.includes('cell 4: Error: x') && html.includes('>failed<'));
});

test('run-jupyter: error outputs and kernel fault messages are found by cell; the fault log is read', () => {
  const problems = scanNotebook(
    nb([
      { output_type: 'stream', name: 'stderr', text: 'fine\nUnhandledPromiseRejection: Error: late\n' },
      { output_type: 'error', ename: 'TypeError', evalue: 'x is undefined', traceback: [] },
    ]),
    'n',
  );
  assert.deepEqual(problems, [
    { notebook: 'n', cell: 2, message: 'UnhandledPromiseRejection: Error: late' },
    { notebook: 'n', cell: 2, message: 'TypeError: x is undefined' },
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-faults-'));
  try {
    const log = path.join(dir, 'f.jsonl');
    assert.deepEqual(readFaultLog(log), []);
    fs.writeFileSync(log, `${JSON.stringify({ kind: 'unhandledRejection', notebook: 'n', text: 'Error: y' })}\n`);
    assert.deepEqual(readFaultLog(log), [{ kind: 'unhandledRejection', notebook: 'n', text: 'Error: y' }]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

