/**
 * runPipeline end to end on fixtures made here: a folder of small PNGs in the TFDS layout and a tiny
 * random-weight MobileNetV2 saved as a tfjs model.json (loaded as a custom base).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { tinyExperimentFixture } from '../experiment/fixtures';
import { runPipeline } from '../../lib/experiment/pipeline';
import { fineTuneLearningRate } from '../../lib/train/phases';
import { readRunRecord, readRunRecords } from '../../lib/experiment/records';

test('runPipeline trains both phases, evaluates, saves model + metrics + options, and leaks no tensors', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-pipeline-'));
  try {
    const { base: modelJson } = await tinyExperimentFixture(tmp, { train: 30, test: 12 });
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    let result;
    try {
      result = await runPipeline({
        engine: 'wasm',
        data: path.join(tmp, 'data'),
        base: modelJson,
        imageSize: 32,
        headEpochs: 2,
        fineTuneEpochs: 2,
        fineTuneFrom: 'block_16',
        headLearningRate: 0.01,
        batchSize: 8,
        augmentViews: 2,
        seed: 3,
        workers: 1,
        cacheDir: path.join(tmp, 'cache'),
        out: path.join(tmp, 'out'),
        progress: 'lines',
        lrFinder: true,
      });
    } finally {
      console.log = log;
    }
    assert.equal(tf.memory().numTensors - before, 0, 'the pipeline left tensors behind');
    const out = lines.join('\n');
    assert.match(out, /head only, test set:(.|\n)*after fine-tuning from block_16/);
    assert.match(out, /parameters:\n(.|\n)*imageSize\s+32(.|\n)*fineTuneFrom\s+block_16/);
    assert.deepEqual(result.history.records.map((r: { phase: string }) => r.phase), ['head', 'head', 'fine-tune', 'fine-tune']);
    assert.equal(result.history.fineTuneStartEpoch, 3);
    // mixRendered 'auto': the fixture's 10 own images per class plus as many rendered ones.
    assert.equal(result.data.train, 60);
    assert.equal(result.head.evaluation.count, 12);
    assert.ok(result.fineTune && result.fineTune.phase.fromBlock === 'block_16');
    assert.ok(result.timings.total > 0 && result.timings.head > 0);
    const metrics = JSON.parse(fs.readFileSync(result.files.metrics, 'utf8'));
    assert.ok(metrics.lrFinder.head.suggestion.learningRate > 0 && metrics.lrFinder.head.points.length > 10);
    assert.match(out, /learning-rate finder \(head\): suggested /);
    assert.equal(metrics.fineTuneTestAccuracy, result.fineTune.evaluation.accuracy);
    assert.equal(metrics.history.records.length, 4);
    const options = JSON.parse(fs.readFileSync(result.files.options, 'utf8'));
    assert.equal(options.fineTuneLearningRate, fineTuneLearningRate(0.01), 'derived from the head learning rate');
    assert.equal(options.seed, 3);
    for (const f of ['model.json', 'weights.bin', 'metadata.json']) assert.ok(fs.existsSync(path.join(result.files.model, f)), f);
    // Both phases' run records, with their test metrics, in <out>/records/ and in the cache's run folder.
    const records = result.files.records.map((f) => readRunRecord(f));
    assert.deepEqual(records.map((r) => [r.phase, r.metrics?.accuracy]), [
      ['head', result.head.evaluation.accuracy],
      ['fine-tune', result.fineTune.evaluation.accuracy],
    ]);
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'out', 'records')).sort(), records.map((r) => `${r.id}.json`).sort());
    assert.deepEqual(readRunRecords([path.join(tmp, 'cache', 'runs', records[0].experiment.key)]).records, records);
    const meta = JSON.parse(fs.readFileSync(path.join(result.files.model, 'metadata.json'), 'utf8'));
    assert.deepEqual(meta.classes, ['rock', 'paper', 'scissors']);
    assert.equal(meta.inputSize, 32);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a fine-tuning block the base lacks fails before any training (issue #14: it failed after the head phase)', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-pipeline-'));
  try {
    const { base: modelJson } = await tinyExperimentFixture(tmp, { train: 12, test: 6 });
    const epochs: string[] = [];
    const options = { engine: 'wasm' as const, data: path.join(tmp, 'data'), base: modelJson, imageSize: 32, workers: 1, cacheDir: path.join(tmp, 'cache'), out: path.join(tmp, 'out') };
    const log = console.log;
    console.log = (...a: unknown[]) => epochs.push(a.join(' '));
    try {
      await assert.rejects(runPipeline({ ...options, fineTuneFrom: 'block_99', progress: 'lines' }), /block_99/);
      await assert.rejects(runPipeline({ ...options, fineTuneFrom: 99, progress: 'lines' }), /99/);
    } finally {
      console.log = log;
    }
    assert.equal(epochs.filter((l) => /\[head\] epoch/.test(l)).length, 0, 'no epoch may run');
    assert.equal(fs.existsSync(path.join(tmp, 'out', 'model')), false);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
