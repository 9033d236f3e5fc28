/**
 * Comparing runs: the figure overlays runs of different lengths and phases (a fine-tune-start marker for each
 * fine-tuned run only), the table lists exactly the parameters that differ, and `npm run compare` writes a
 * self-contained HTML page from record files and folders, refusing bad input by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { differingParameters, writeRunRecord } from '../../lib/experiment/records';
import { compareRunsFigure, compareRunsTable, runLabels } from '../../lib/report/figures/runs';
import { PLOTLY_CHART_CLASS, setDisplaySink } from '../../lib/report/display';
import { showRunComparison } from '../../lib/report/runs';
import { compareRuns } from '../../lib/cli/compare';
import { countDrawnCharts } from '../../scripts/notebooks/check-reports';
import { fakeRun } from '../experiment/record_fixtures';

const root = path.resolve(__dirname, '../..');
const RESULT_COLUMNS = ['run', 'recorded', 'epochs', 'stopped', 'best val accuracy', 'test accuracy', 'test loss', 'macro F1', 'training s'];

test('the figure overlays runs with different epoch counts and phases; each fine-tuned run gets its own marker', () => {
  const short = fakeRun({ headEpochs: 2, accuracy: 0.8 });
  const long = fakeRun({ headEpochs: 5, learningRate: 3e-3 });
  const tuned = fakeRun({ headEpochs: 3, fineTuneEpochs: 4, accuracy: 0.95 });
  const tunedLater = fakeRun({ headEpochs: 2, fineTuneEpochs: 1 });
  const fig = compareRunsFigure([short, long, tuned, tunedLater]);
  const curves = fig.data.filter((t) => t.mode === 'lines+markers');
  assert.equal(curves.length, 8, 'accuracy and loss per run');
  assert.deepEqual(
    curves.filter((t) => t.yaxis === 'y').map((t) => t.x),
    [[1, 2], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7], [1, 2, 3]],
  );
  assert.deepEqual(curves.filter((t) => t.yaxis === 'y2')[0].y, short.history.records.map((e) => e.valLoss));
  assert.equal(fig.data.filter((t) => t.showlegend).length, 4, 'one legend entry per run');
  const markers = fig.data.filter((t) => t.mode === 'lines');
  assert.deepEqual(
    markers.map((t) => [t.legendgroup, (t.x as number[])[0], t.yaxis]),
    [
      [tuned.id, 3.5, 'y'],
      [tunedLater.id, 2.5, 'y'],
      [tuned.id, 3.5, 'y2'],
      [tunedLater.id, 2.5, 'y2'],
    ],
  );
  // A run's marker has its colour and spans the panel's values.
  const tunedCurve = curves.find((t) => t.legendgroup === tuned.id && t.yaxis === 'y') as { line: { color: string } };
  assert.equal((markers[0].line as { color: string }).color, tunedCurve.line.color);
  const accValues = curves.filter((t) => t.yaxis === 'y').flatMap((t) => t.y as number[]);
  assert.deepEqual(markers[0].y, [Math.min(...accValues), Math.max(...accValues)]);
  // Without a validation split, the training curves, named so.
  const noVal = compareRunsFigure([short, fakeRun({ headEpochs: 2, noValidation: true })]);
  assert.match(String(noVal.data[1].name), /training: no validation split/);
  assert.deepEqual(noVal.data[1].y, [0.54, 0.58]);
  assert.throws(() => compareRunsFigure([]), /no runs to compare/);
});

test('the table lists exactly the parameters that differ, with the results', () => {
  const a = fakeRun({ headEpochs: 2, accuracy: 0.8 });
  const b = fakeRun({ headEpochs: 2, learningRate: 3e-3, accuracy: 0.9 });
  const rows = compareRunsTable([a, b]);
  assert.deepEqual(Object.keys(rows[0]).filter((k) => !RESULT_COLUMNS.includes(k)), ['headLearningRate']);
  assert.deepEqual(rows.map((r) => [r.run, r.headLearningRate, r['test accuracy'], r.epochs]), [
    ['#1 head', '0.001', '80.0 %', 2],
    ['#2 head', '0.003', '90.0 %', 2],
  ]);
  assert.deepEqual(runLabels([a, b]), ['#1 head · headLearningRate 0.001', '#2 head · headLearningRate 0.003']);

  // A parameter set in the experiment (not overridden in a cell) differs too; equal options do not.
  const c = fakeRun({ headEpochs: 2 });
  c.parameters = { ...c.parameters, dropout: 0.5 };
  assert.deepEqual(differingParameters([a, c]), ['dropout']);
  // A head run and a fine-tuned run: fine-tuning's parameters do not apply to the head run, so they do not differ.
  const tuned = fakeRun({ headEpochs: 2, fineTuneEpochs: 3 });
  assert.deepEqual(differingParameters([a, tuned]), []);
  const tunedRows = compareRunsTable([a, tuned]);
  assert.deepEqual(Object.keys(tunedRows[0]).filter((k) => !RESULT_COLUMNS.includes(k)), []);
  assert.equal(tunedRows[1]['test accuracy'], '', 'not evaluated');
  // Two fine-tuned runs with different rates; runs of different experiments name them.
  const tuned2 = fakeRun({ headEpochs: 2, fineTuneEpochs: 3, learningRate: 5e-5, experimentKey: 'ffff000011112222' });
  const rows2 = compareRunsTable([tuned, tuned2]);
  assert.deepEqual(Object.keys(rows2[0]).filter((k) => !RESULT_COLUMNS.includes(k)), ['experiment', 'fineTuneLearningRate']);
  assert.deepEqual(rows2.map((r) => r.fineTuneLearningRate), ['0.0001', '0.00005']);
});

test('showRunComparison: a line with one run, the chart and table with two', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-compare-'));
  const html: string[] = [];
  setDisplaySink({ html: (h) => html.push(h), text: (t) => html.push(t) });
  try {
    writeRunRecord(path.join(runDir, 'records'), fakeRun({ headEpochs: 2 }));
    writeRunRecord(path.join(runDir, 'records'), fakeRun({ headEpochs: 3, fineTuneEpochs: 1 }));
    showRunComparison({ runDir }, { phase: 'head' });
    assert.equal(html.length, 1);
    assert.match(html[0], /One head run of this experiment recorded so far/);
    writeRunRecord(path.join(runDir, 'records'), fakeRun({ headEpochs: 4, learningRate: 0.01 }));
    html.length = 0;
    showRunComparison({ runDir }, { phase: 'head' });
    assert.equal(html.filter((h) => h.includes(PLOTLY_CHART_CLASS)).length, 1);
    assert.ok(html.some((h) => h.includes('<table') && h.includes('headLearningRate')));
  } finally {
    setDisplaySink(undefined);
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test('npm run compare writes a self-contained HTML page from records; bad input is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-compare-'));
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--require', require.resolve('ts-node/register'), path.join(root, 'lib/cli/compare.ts'), ...args], {
      cwd: dir,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
      encoding: 'utf8',
      timeout: 60_000,
    });
  try {
    const a = writeRunRecord(path.join(dir, 'one'), fakeRun({ headEpochs: 2, accuracy: 0.8 }));
    // A folder holding records/ (as `npm run train`'s --out).
    writeRunRecord(path.join(dir, 'out', 'records'), fakeRun({ headEpochs: 3, fineTuneEpochs: 2, accuracy: 0.9 }));
    const ok = run([a, 'out', '--out', 'cmp/report.html']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /2 runs compared; wrote cmp\/report\.html/);
    const html = fs.readFileSync(path.join(dir, 'cmp', 'report.html'), 'utf8');
    assert.equal(html.split('* plotly.js v').length - 1, 1, 'plotly inlined once');
    assert.equal(countDrawnCharts(html).charts, 1, 'the chart div');
    assert.ok(html.includes('<table class="rps-table">') && html.includes('#2 fine-tune'));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'cmp')), ['report.html'], 'no temporary file left');

    const missing = run([a, 'nope.json']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /compare: nope\.json: no such file or folder/);
    // The same checks in-process (a spawn costs seconds of compiling).
    fs.writeFileSync(path.join(dir, 'metrics.json'), '{"headTestAccuracy": 1}');
    const out = path.join(dir, 'bad.html');
    assert.throws(() => compareRuns({ inputs: [a, path.join(dir, 'metrics.json')], out }), /metrics\.json: not a run record/);
    assert.throws(() => compareRuns({ inputs: [], out }), /no run records given/);
    assert.equal(fs.existsSync(out), false, 'nothing written on bad input');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
