import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkParameterOverrides, declaredInCode, declaredParameters } from '../../lib/report/params_cell';
import { resolveNotebooks } from '../../lib/report/runner';

test('declaredInCode: the keys and literal values of the notebookParameters object', () => {
  const code = `import { notebookParameters } from "./lib/index";\nconst other = { notAParameter: 1 };\nconst P = notebookParameters({\n  data: "auto", // comment\n  "imageSize": 128,\n  flag: false,\n  rate: -0.5,\n});`;
  assert.deepEqual(declaredInCode(code), { data: 'auto', imageSize: 128, flag: false, rate: -0.5 });
  assert.deepEqual(declaredInCode('const P = notebookParameters({});'), {});
  assert.equal(declaredInCode('const x = 1;'), null);
});

test('declaredParameters: reads the real notebooks (each declares only its own parameters and changes)', () => {
  const [n01, n02, n03] = resolveNotebooks(['01', '02', '03']);
  assert.deepEqual(declaredParameters(n01), { examplesPerClass: 6 });
  assert.ok('variantsPerExample' in declaredParameters(n02));
  assert.deepEqual(declaredParameters(n03), { lrFinder: true });
});

test('checkParameterOverrides: values are checked before anything runs; unknown names are refused', () => {
  const all = resolveNotebooks([]);
  assert.deepEqual(checkParameterOverrides(['headEpochs=3', 'fineTuneFrom=11', 'examplesPerClass=2'], all), {
    RPS_HEAD_EPOCHS: '3',
    RPS_FINE_TUNE_FROM: '11',
    RPS_EXAMPLES_PER_CLASS: '2',
  });
  assert.throws(() => checkParameterOverrides(['imageSize=abc'], all), /^Error: --set imageSize: expected an integer >= 32 and a multiple of 32, got 'abc'$/);
  assert.throws(() => checkParameterOverrides(['imageSize=33'], all), /--set imageSize: .*got 33$/);
  assert.throws(() => checkParameterOverrides(['examplesPerClass=many'], all), /--set examplesPerClass: expected a number, got 'many'/);
  assert.throws(() => checkParameterOverrides(['headEpoch=3'], all), /--set headEpoch: no such parameter\. Experiment parameters: data, /);
  assert.throws(() => checkParameterOverrides(['headEpochs'], all), /expected name=value/);
  // A notebook parameter of 05 is unknown when only notebook 01 runs.
  assert.throws(() => checkParameterOverrides(['topMistakes=3'], resolveNotebooks(['01'])), /--set topMistakes: no such parameter/);
});

test('declaredParameters: a file that is not a notebook is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-params-cell-'));
  try {
    const bad = path.join(dir, 'broken.ipynb');
    fs.writeFileSync(bad, '{ not json');
    assert.throws(() => declaredParameters(bad), new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable notebook`));
    const empty = path.join(dir, 'empty.ipynb');
    fs.writeFileSync(empty, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: ['1 + 1'], metadata: {} }] }));
    assert.deepEqual(declaredParameters(empty), {});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
