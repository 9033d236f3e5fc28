import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkParameterNames, declaredParameters, parameterNamesInCode } from '../../lib/report/params_cell';
import { resolveNotebooks } from '../../lib/report/runner';

test('parameterNamesInCode: the keys of the notebookParameters object literal', () => {
  const code = `import { notebookParameters } from "./lib/index";\nconst other = { notAParameter: 1 };\nconst P = notebookParameters({\n  source: "auto", // comment\n  "imageSize": 128,\n  headEpochs: 30,\n}, { aliases: { source: "RPS_DATA" } });`;
  assert.deepEqual(parameterNamesInCode(code), ['source', 'imageSize', 'headEpochs']);
  assert.equal(parameterNamesInCode('const x = 1;'), null);
});

test('declaredParameters: reads the real notebooks', () => {
  const [n01, , n03, n04] = resolveNotebooks(['01', '02', '03', '04']);
  assert.ok(declaredParameters(n01).includes('examplesPerClass'));
  assert.ok(declaredParameters(n03).includes('headEpochs'));
  assert.ok(declaredParameters(n04).includes('fineTuneLearningRate'));
  assert.ok(!declaredParameters(n01).includes('fineTuneLearningRate'));
});

test('checkParameterNames: unknown names are refused, naming them and what each notebook declares', () => {
  const all = resolveNotebooks([]);
  checkParameterNames(['headEpochs', 'fineTuneLearningRate', 'seed'], all);
  assert.throws(() => checkParameterNames(['headEpochs', 'headEpoch'], all), /--set headEpoch: no notebook to run declares this parameter\. Declared: 01_import_data: source, /);
  // A parameter of notebook 04 is unknown when only notebook 01 runs.
  assert.throws(() => checkParameterNames(['fineTuneLearningRate'], resolveNotebooks(['01'])), /fineTuneLearningRate/);
});

test('declaredParameters: a file that is not a notebook is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-params-cell-'));
  try {
    const bad = path.join(dir, 'broken.ipynb');
    fs.writeFileSync(bad, '{ not json');
    assert.throws(() => declaredParameters(bad), new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable notebook`));
    const empty = path.join(dir, 'empty.ipynb');
    fs.writeFileSync(empty, JSON.stringify({ cells: [{ cell_type: 'code', source: ['1 + 1'] }] }));
    assert.deepEqual(declaredParameters(empty), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
