/**
 * The experiment layer across notebooks: one assembly, run folders keyed by the experiment's identity, a later
 * "notebook" (a fresh set of kept values) continuing from an earlier one's saved head, refusing another experiment
 * with what differs, and never continuing from an earlier session's training.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { ExperimentParameters } from '../../lib/experiment/parameters';
import { fineTunePhaseOptions, headPhaseOptions, prepareExperiment, releaseExperiment, restorePhase } from '../../lib/experiment/prepare';
import { evaluateSession } from '../../lib/experiment/evaluate';
import { experimentDir, phaseResults, readPhaseRecord, savePhase } from '../../lib/experiment/runs';
import { fineTune, fineTuneLearningRate, trainHead } from '../../lib/train/phases';
import { weightsFingerprint } from '../../lib/train/session';
import { tinyExperiment } from './fixtures';

let tmp: string;
let P: ExperimentParameters;

before(async () => {
  ({ dir: tmp, parameters: P } = await tinyExperiment('rps-runs-'));
});

after(() => {
  releaseExperiment();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const quiet = { quiet: true, callbacks: {} };

test('run folders are keyed by the identity; a missing phase names the notebook to run first', () => {
  const id = { train: 'k1', test: 't1', base: 'embedded', parameters: { seed: 0, validationSplit: 0.1 } };
  assert.equal(experimentDir(id, '/c'), experimentDir({ ...id, parameters: { ...id.parameters } }, '/c'));
  assert.notEqual(experimentDir(id, '/c'), experimentDir({ ...id, parameters: { ...id.parameters, seed: 1 } }, '/c'));
  assert.notEqual(experimentDir(id, '/c'), experimentDir({ ...id, train: 'k2' }, '/c'));
  assert.throws(() => readPhaseRecord('/nonexistent/run', 'head'), /run notebooks\/03_transfer_learning\.ipynb first/);
  assert.throws(() => readPhaseRecord('/nonexistent/run', 'fine-tune'), /run notebooks\/04_fine_tune\.ipynb first/);
});

test('03 -> 04 -> 05: the head is handed on through files; another validation split or augmentation is refused, naming it', async () => {
  // "Notebook 03".
  let exp = await prepareExperiment(P, quiet);
  const head = await trainHead(exp.session, headPhaseOptions(P));
  const headEval = await evaluateSession(exp.session);
  await savePhase(exp, 'head', phaseResults(head, headEval));
  const headWeights = await weightsFingerprint(exp.classifier);
  releaseExperiment();

  // "Notebook 04", a fresh kernel: same parameters, continues from the saved head (fine-tuning rate: derived from the head's).
  exp = await prepareExperiment(P, quiet);
  const record = await restorePhase(exp, 'head');
  assert.equal(await weightsFingerprint(exp.classifier), headWeights);
  assert.equal(record.results.testAccuracy, headEval.accuracy);
  assert.equal(exp.session.headLearningRate, P.headLearningRate);
  const ft = await fineTune(exp.session, fineTunePhaseOptions(P));
  assert.ok(Math.abs(ft.records[0].lr - fineTuneLearningRate(P.headLearningRate)) < 1e-12, 'the first epoch runs at the full rate');
  assert.deepEqual(exp.history.records.map((r) => r.phase), ['head', 'head', 'fine-tune']);
  assert.equal(ft.cache.computed, 0, "the head's frozen pass went through the fine-tuning boundary");
  const tunedEval = await evaluateSession(exp.session);
  await savePhase(exp, 'fine-tune', phaseResults(ft, tunedEval));
  releaseExperiment();

  // "Notebook 05": the fine-tune record carries the head's results; the session is at that run's stage, so its
  // evaluation runs the fine-tuned suffix on the activations notebook 04 cached (nothing is computed).
  exp = await prepareExperiment(P, quiet);
  const tuned = await restorePhase(exp, 'fine-tune');
  assert.equal(tuned.head?.testAccuracy, headEval.accuracy);
  assert.equal(tuned.results.fromBlock, 'block_16');
  assert.deepEqual(exp.session.stage, { kind: 'fine-tune', boundary: exp.fineTuneAt.boundary, fromBlock: 'block_16' });
  assert.deepEqual(exp.history, tuned.history);
  const again = await evaluateSession(exp.session);
  assert.equal(exp.session.store.getStats().computed, 0);
  assert.equal(again.accuracy, tunedEval.accuracy);
  assert.ok(Math.abs(again.loss - tunedEval.loss) < 1e-6);
  await assert.rejects(fineTune(exp.session, fineTunePhaseOptions(P)), /train the head first/);
  releaseExperiment();

  // Another validation split (or augmentation) is another experiment: refused, saying what differs.
  const other = await prepareExperiment({ ...P, validationSplit: 0.2, rotation: 0 }, quiet);
  await assert.rejects(
    restorePhase(other, 'head'),
    /run notebooks\/03_transfer_learning\.ipynb first.*differs in validationSplit 0\.1 there, 0\.2 here; rotation 0\.2 there, 0 here/s,
  );
  // Training parameters are not part of the identity: another head learning rate finds the same run.
  assert.equal((await prepareExperiment({ ...P, headLearningRate: 0.05 }, quiet)).runDir, exp.runDir);
  releaseExperiment();
});

test('a rebuilt experiment starts from the base as loaded, never from an earlier session\'s training; tensors stay flat', async () => {
  let exp = await prepareExperiment(P, quiet);
  const fresh = await weightsFingerprint(exp.classifier);
  await trainHead(exp.session, headPhaseOptions(P));
  await fineTune(exp.session, fineTunePhaseOptions(P));
  assert.notEqual(await weightsFingerprint(exp.classifier), fresh);
  // Another validation split rebuilds the classifier and session on the base's original weights (fine-tuning changed them).
  exp = await prepareExperiment({ ...P, validationSplit: 0.2 }, quiet);
  exp = await prepareExperiment(P, quiet);
  assert.equal(await weightsFingerprint(exp.classifier), fresh);
  const tensors = tf.memory().numTensors;
  for (const validationSplit of [0.2, 0.1, 0.2]) await prepareExperiment({ ...P, validationSplit }, quiet);
  await prepareExperiment(P, quiet);
  assert.equal(tf.memory().numTensors, tensors);
  releaseExperiment();
});
