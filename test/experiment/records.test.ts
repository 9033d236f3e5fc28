/**
 * Run records: written atomically (nothing half-written, no temporary files left), read back equal, bad files
 * refused naming them; and the notebook flow: two head runs with different learning rates on one tiny experiment,
 * both recorded with their options and test metrics, listed and compared, then a fine-tuning run next to them.
 */
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ExperimentParameters } from '../../lib/experiment/parameters';
import { fineTunePhaseOptions, headPhaseOptions, prepareExperiment, releaseExperiment, restorePhase } from '../../lib/experiment/prepare';
import { evaluateSession } from '../../lib/experiment/evaluate';
import {
  differingParameters,
  listRuns,
  readRunRecord,
  readRunRecords,
  recentRuns,
  recordOf,
  recordsDir,
  RECORD_FORMAT,
  writeRunRecord,
} from '../../lib/experiment/records';
import { phaseResults, savePhase } from '../../lib/experiment/runs';
import { compareRunsFigure, compareRunsTable } from '../../lib/report/figures/runs';
import { fineTune, trainHead } from '../../lib/train/phases';
import { tinyExperiment } from './fixtures';
import { fakeRun } from './record_fixtures';

// The module object itself (not the import helper's copy), so that mocks reach lib/util/atomic.ts.
const realFs = require('node:fs') as typeof fs;

let tmp: string;
let P: ExperimentParameters;

before(async () => {
  ({ dir: tmp, parameters: P } = await tinyExperiment('rps-records-'));
});

after(() => {
  releaseExperiment();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const quiet = { quiet: true, callbacks: {} };

test('a record is written atomically and read back equal; a crash mid-write leaves neither a record nor a temporary file', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'rec-'));
  const run = fakeRun({ headEpochs: 3, accuracy: 0.9 });
  const file = writeRunRecord(dir, run);
  assert.deepEqual(fs.readdirSync(dir), [`${run.id}.json`]);
  assert.deepEqual(readRunRecord(file), run);

  // The disk fills up half-way through the write.
  const other = fakeRun({ headEpochs: 2 });
  const write = mock.method(realFs, 'writeFileSync', (f: fs.PathOrFileDescriptor, data: string) => {
    write.mock.restore();
    realFs.writeFileSync(f, data.slice(0, data.length >> 1));
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  });
  assert.throws(() => writeRunRecord(dir, other), /ENOSPC/);
  // The process dies between writing and renaming.
  const rename = mock.method(realFs, 'renameSync', () => {
    rename.mock.restore();
    throw new Error('killed');
  });
  assert.throws(() => writeRunRecord(dir, other), /killed/);
  assert.deepEqual(fs.readdirSync(dir), [`${run.id}.json`]);

  // A temporary file of a write that was killed outright is never taken for a record.
  fs.writeFileSync(path.join(dir, `.${other.id}.json.123.abcd.tmp`), '{"format": "run-rec');
  const runDir = fs.mkdtempSync(path.join(tmp, 'run-'));
  fs.cpSync(dir, recordsDir(runDir), { recursive: true });
  assert.deepEqual(listRuns({ runDir }), [run]);
  assert.deepEqual(readRunRecords([runDir]).records, [run]);
});

test('bad record files are refused naming the file and what is wrong', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
  const good = writeRunRecord(dir, fakeRun({ headEpochs: 1 }));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const notJson = write('broken.json', '{"format": "run-record-v1", "id": ');
  const metrics = write('metrics.json', JSON.stringify({ headTestAccuracy: 0.9 }));
  const handoff = write('record.json', JSON.stringify({ format: 'run-v2', phase: 'head' }));
  const future = write('future.json', JSON.stringify({ ...fakeRun({ headEpochs: 1 }), format: 'run-record-v9' }));
  const partial = write('partial.json', JSON.stringify({ format: RECORD_FORMAT, id: 'x', phase: 'head' }));
  const missing = path.join(dir, 'nope.json');
  const cases: [string, RegExp][] = [
    [missing, /nope\.json: no such file/],
    [notJson, /broken\.json: not a run record \(not JSON/],
    [metrics, /metrics\.json: not a run record \(expected a JSON object with format 'run-record-v1'\)/],
    [handoff, /record\.json: a saved phase \(the notebooks' hand-off record\), not a run record/],
    [future, /future\.json: a run record of format 'run-record-v9'; this version reads 'run-record-v1'/],
    [partial, /partial\.json: not a valid run record \(missing or malformed: parameters, options, history, experiment\)/],
  ];
  for (const [file, re] of cases) assert.throws(() => readRunRecord(file), re, file);
  assert.throws(() => readRunRecords([good, future]), /run records of different formats \(run-record-v1: .*\.json; run-record-v9: .*future\.json\)/);
  assert.throws(() => readRunRecords([path.join(dir, 'no-such-dir')]), /no-such-dir: no such file or folder/);
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  assert.throws(() => readRunRecords([empty]), /empty-\w+: no run records \(\*\.json\)/);
  assert.throws(() => readRunRecords([]), /no run records given/);
});

test('notebook flow: two head runs with different learning rates are both recorded, listed and compared; then a fine-tuning run', async () => {
  const exp = await prepareExperiment(P, quiet);
  const before = listRuns(exp).length;
  // The training cell, then the evaluation cell; then the training cell again with another learning rate.
  const first = await trainHead(exp.session, headPhaseOptions(P));
  const firstEval = await evaluateSession(exp.session);
  const second = await trainHead(exp.session, { ...headPhaseOptions(P), learningRate: 3e-3 });
  await evaluateSession(exp.session, { split: 'train' });
  assert.equal(recordOf(second)?.metrics, null, 'a training-split evaluation is not the run\'s test metrics');
  const secondEval = await evaluateSession(exp.session);

  const runs = listRuns(exp, { phase: 'head' }).slice(before);
  assert.equal(runs.length, 2);
  assert.deepEqual(runs, [recordOf(first), recordOf(second)], 'on disk as in this kernel');
  assert.deepEqual(recentRuns(exp, { phase: 'head' }).slice(-2), runs);
  assert.ok(runs[0].id < runs[1].id, 'ids are time-ordered');
  assert.deepEqual(runs.map((r) => r.options.learningRate), [P.headLearningRate, 3e-3]);
  assert.deepEqual(runs.map((r) => r.parameters.headLearningRate), [P.headLearningRate, P.headLearningRate], 'the parameters as the notebook set them');
  assert.deepEqual(runs.map((r) => r.metrics?.accuracy), [firstEval.accuracy, secondEval.accuracy]);
  assert.equal(runs[1].metrics?.macroF1, secondEval.macroF1);
  assert.deepEqual(runs[0].history, { records: first.records, fineTuneStartEpoch: null });
  assert.equal(runs[0].experiment.key, path.basename(exp.runDir));
  assert.equal(runs[0].engine.engine, 'wasm');
  assert.ok(runs[0].timings.trainSeconds > 0);
  assert.deepEqual(differingParameters(runs), ['headLearningRate']);
  const table = compareRunsTable(runs);
  assert.deepEqual(table.map((r) => r.headLearningRate), ['0.001', '0.003']);
  assert.equal(table[1]['test accuracy'], `${(secondEval.accuracy * 100).toFixed(1)} %`);
  assert.equal(compareRunsFigure(runs).data.filter((t) => t.showlegend).length, 2);

  // Notebook 04's cells: save the head, restore it, fine-tune. The restored weights are not the second run's
  // classifier, so evaluating them adds nothing to that run's record.
  await savePhase(exp, 'head', phaseResults(second, secondEval));
  await trainHead(exp.session, headPhaseOptions(P));
  const third = recordOf(await trainHead(exp.session, headPhaseOptions(P)));
  await restorePhase(exp, 'head');
  await evaluateSession(exp.session);
  assert.equal(third?.metrics, null);
  const ft = await fineTune(exp.session, fineTunePhaseOptions(P));
  const ftEval = await evaluateSession(exp.session);
  const tuned = listRuns(exp, { phase: 'fine-tune' });
  assert.equal(tuned.length, 1);
  assert.deepEqual(tuned[0], recordOf(ft));
  assert.equal(tuned[0].metrics?.accuracy, ftEval.accuracy);
  assert.equal(tuned[0].headLearningRate, 3e-3, 'the head it started from');
  assert.equal(tuned[0].options.from, 'block_16');
  assert.deepEqual(tuned[0].history.records.map((r) => r.phase), ['head', 'head', 'fine-tune']);
  assert.equal(tuned[0].history.fineTuneStartEpoch, 3);
  assert.equal(listRuns(exp, { phase: 'head', limit: 1 })[0].id, third?.id);
  releaseExperiment();
});

test('recording leaks no tensors across repeated phases', async () => {
  const exp = await prepareExperiment(P, quiet);
  await trainHead(exp.session, headPhaseOptions(P));
  await evaluateSession(exp.session);
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    await trainHead(exp.session, headPhaseOptions(P));
    await evaluateSession(exp.session);
  }
  assert.equal(tf.memory().numTensors, tensors);
  releaseExperiment();
});
