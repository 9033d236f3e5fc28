/**
 * The learning-rate finder: exponential schedule, a suggestion that follows a known good rate, early stop on
 * divergence and non-finite steps, bad options refused, and a session left exactly as it was (both phases).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { batchNormMode } from '../../lib/model/batchnorm';
import { FeatureBatchSource } from '../../lib/train/batches';
import { findLearningRate, lrAtStep, lrRangeTest, suggestLearningRate, type LrFinderOptions, type LrFinderPoint } from '../../lib/train/lr_finder';
import { fineTune, trainHead } from '../../lib/train/phases';
import { createTrainingSession, type TrainingSession } from '../../lib/train/session';
import { createRng } from '../../lib/util/random';
import { syntheticPixels, tinyClassifier, weightValues } from './helpers';

/** Softmax regression with zero weights, so the loss starts at ln 3 whatever the feature scale. */
function softmaxRegression(dim: number): tf.LayersModel {
  const input = tf.input({ shape: [dim] });
  const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: 'zeros' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Non-negative features like pooled activations, times `scale`: class c raises every third dimension from c. */
function pooledLikeFeatures(n: number, dim: number, scale: number, seed = 1) {
  const rng = createRng(seed);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let d = 0; d < dim; d++) data[i * dim + d] = scale * Math.max(0, rng.normal() + (d % 3 === labels[i] ? 0.5 : 0));
  }
  return { views: [data], sampleShape: [dim], labels };
}

/**
 * The SGD rate 1/L for softmax regression from zero weights, L the largest curvature there: the Hessian of the
 * cross-entropy is E[x xᵀ] ⊗ (diag(p) - p pᵀ) with p = 1/3 everywhere, whose largest eigenvalue is λmax(E[x xᵀ]) / 3.
 */
function sgdGoodRate(data: Float32Array, n: number, dim: number): number {
  let v = new Float64Array(dim).fill(1 / Math.sqrt(dim));
  let lambda = 0;
  for (let it = 0; it < 100; it++) {
    const w = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += data[i * dim + d] * v[d];
      for (let d = 0; d < dim; d++) w[d] += (dot * data[i * dim + d]) / n;
    }
    lambda = Math.hypot(...w);
    v = w.map((x) => x / lambda);
  }
  return 3 / lambda;
}

const variableValues = (m: tf.LayersModel) => m.getWeights().map((w) => Float32Array.from(w.dataSync()));

test('the schedule is exponential from start to end and the curve follows it', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const lrs = Array.from({ length: 50 }, (_, i) => lrAtStep(i, 50, 1e-6, 1));
  assert.equal(lrs[0], 1e-6);
  assert.ok(Math.abs(lrs[49] - 1) < 1e-12);
  const ratios = lrs.slice(1).map((lr, i) => lr / lrs[i]);
  for (const r of ratios) assert.ok(Math.abs(r - ratios[0]) < 1e-9, 'a constant ratio from step to step');
  const f = pooledLikeFeatures(120, 8, 1);
  const model = softmaxRegression(8);
  try {
    const curve = await lrRangeTest(model, { source: new FeatureBatchSource(f, 0) }, { start: 1e-6, end: 1e-3, steps: 30, batchSize: 16 });
    assert.equal(curve.stopReason, 'completed');
    assert.deepEqual(curve.points.map((p) => p.step), Array.from({ length: 30 }, (_, i) => i + 1));
    curve.points.forEach((p, i) => assert.equal(p.lr, lrAtStep(i, 30, 1e-6, 1e-3)));
    // The debiased average starts at the first loss.
    assert.ok(Math.abs(curve.points[0].smoothedLoss - curve.points[0].loss) < 1e-9);
    assert.equal(curve.settings.optimizer, 'adam');
    const s = suggestLearningRate(curve.points);
    assert.ok(s.learningRate >= 1e-6 && s.learningRate <= 1e-3, `suggestion ${s.learningRate} outside the tested range`);
  } finally {
    model.dispose();
  }
});

test('the suggestion follows a known good rate: SGD on softmax regression, two feature scales 100x apart in rate', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const found: number[] = [];
  for (const scale of [1, 10]) {
    const f = pooledLikeFeatures(600, 32, scale);
    const good = sgdGoodRate(f.views[0], 600, 32);
    const model = softmaxRegression(32);
    try {
      const curve = await lrRangeTest(model, { source: new FeatureBatchSource(f, 0) }, { optimizer: 'sgd', seed: 1 });
      const s = suggestLearningRate(curve.points);
      const ratio = s.learningRate / good;
      assert.ok(ratio > 1 / 5 && ratio < 5, `scale ${scale}: suggested ${s.learningRate.toExponential(2)}, 1/L is ${good.toExponential(2)}`);
      assert.equal(s.method, 'minimum');
      found.push(s.learningRate);
    } finally {
      model.dispose();
    }
  }
  assert.ok(found[0] / found[1] > 20, 'ten times the features, a much lower rate');
});

test('divergence stops the test early; a non-finite step stops it at once; the weights come back bit-identical', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const f = pooledLikeFeatures(600, 32, 10);
  const model = softmaxRegression(32);
  const source = new FeatureBatchSource(f, 0);
  try {
    const before = variableValues(model);
    const tensors = tf.memory().numTensors;
    const curve = await lrRangeTest(model, { source }, { optimizer: 'sgd', seed: 1 });
    assert.equal(curve.stopReason, 'diverged');
    assert.ok(curve.points.length < 200, `${curve.points.length} steps`);
    const best = Math.min(...curve.points.map((p) => p.smoothedLoss));
    assert.ok(curve.points[curve.points.length - 1].smoothedLoss > 4 * best);
    assert.match(curve.message ?? '', /passed 4 x its minimum/);
    // Without the rule the same test runs on.
    const on = await lrRangeTest(model, { source }, { optimizer: 'sgd', seed: 1, divergeFactor: 1e12 });
    assert.ok(on.points.length > curve.points.length);
    assert.deepEqual(variableValues(model), before);
    assert.equal(tf.memory().numTensors, tensors);

    const bad = pooledLikeFeatures(60, 32, 1);
    bad.views[0][5] = NaN;
    const stopped = await lrRangeTest(model, { source: new FeatureBatchSource(bad, 0) }, { batchSize: 60 });
    assert.equal(stopped.stopReason, 'non-finite');
    assert.equal(stopped.points.length, 0);
    assert.match(stopped.message ?? '', /stopped at step 1 .*non-finite/);
    assert.deepEqual(variableValues(model), before);
    assert.equal(tf.memory().numTensors, tensors);
  } finally {
    model.dispose();
  }
});

test('suggestLearningRate: a tenth of the minimum or the steepest descent, within the tested rates, with warnings', () => {
  // A clean curve: flat at 1 up to 1e-4, falling to 0.2 at 1e-1, rising after.
  const curve = (f: (x: number) => number): LrFinderPoint[] =>
    Array.from({ length: 100 }, (_, i) => {
      const lr = lrAtStep(i, 100, 1e-6, 10);
      return { step: i + 1, lr, loss: f(Math.log10(lr)), smoothedLoss: f(Math.log10(lr)) };
    });
  const valley = curve((x) => (x < -4 ? 1 : x < -1 ? 1 - (0.8 * (x + 4)) / 3 : 0.2 + (x + 1) * 0.5));
  const min = suggestLearningRate(valley);
  assert.ok(Math.abs(Math.log10(min.minimum.lr) + 1) < 0.1, `minimum at ${min.minimum.lr}`);
  assert.ok(Math.abs(min.learningRate - min.minimum.lr / 10) < 1e-15);
  assert.match(min.reason, /a tenth of 1\.\de-1/);
  assert.equal(min.warning, undefined);
  const steep = suggestLearningRate(valley, 'steepest');
  assert.equal(steep.method, 'steepest');
  assert.ok(steep.learningRate > 1e-4 && steep.learningRate < 1e-1, `steepest at ${steep.learningRate}`);

  assert.match(suggestLearningRate(curve(() => 1)).warning ?? '', /fell only 0\.0 %/);
  assert.match(suggestLearningRate(curve((x) => 1 - 0.05 * (x + 6))).warning ?? '', /still falling at the highest rate tested/);
  // Loss lowest at the first rates: a tenth of it is below the range, so the lowest rate tested is suggested.
  const rising = suggestLearningRate(curve((x) => 1 + (x + 6)));
  assert.equal(rising.learningRate, 1e-6);
  assert.match(rising.reason, /raised to the lowest rate tested/);
  assert.match(suggestLearningRate(valley.slice(0, 12)).warning ?? '', /stopped after 12 steps/);
  assert.throws(() => suggestLearningRate([]), /no points/);
  assert.throws(() => suggestLearningRate(valley, 'valley' as 'minimum'), /suggest: expected minimum or steepest, got valley/);
});

async function withSession<T>(fn: (s: TrainingSession, classifier: tf.LayersModel) => Promise<T>, prepare?: (classifier: tf.LayersModel) => void): Promise<T> {
  const { base, classifier } = tinyClassifier(32, 5, 0.2);
  prepare?.(classifier);
  const session = createTrainingSession({ base, classifier, train: syntheticPixels(30, 32, 1), seed: 5, augment: { rotation: 0.1 }, augmentViews: 2, workers: 1, callbacks: {} });
  try {
    return await fn(session, classifier);
  } finally {
    session.dispose();
    classifier.dispose();
    base.model.dispose();
  }
}

/** Everything about the session and classifier the finder must leave as it found it. */
function sessionState(s: TrainingSession, classifier: tf.LayersModel) {
  return {
    weights: weightValues(classifier),
    history: s.history,
    stage: s.stage,
    headLearningRate: s.headLearningRate,
    model: classifier.trainable,
    layers: classifier.layers.map((l) => [l.name, l.trainable, batchNormMode(l) ?? '']),
    trainableWeights: classifier.trainableWeights.map((w) => w.name),
    weightFlags: classifier.weights.map((w) => [w.name, w.trainable]),
  };
}

const quick = { steps: 12, batchSize: 8 } as const;
const curveOf = (r: { points: LrFinderPoint[] }) => r.points.map((p) => [p.lr, p.loss]);

test('the finder leaves the session exactly as it was, for both phases, and starts where each phase starts', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  await withSession(async (s, classifier) => {
    await assert.rejects(findLearningRate(s, { phase: 'fine-tune', ...quick }), /findLearningRate\(\{ phase: 'fine-tune' \}\): train the head first/);
    const initial = sessionState(s, classifier);
    const tensors = tf.memory().numTensors;
    const headFresh = await findLearningRate(s, { phase: 'head', ...quick });
    assert.equal(headFresh.cut, 'head_pool');
    assert.equal(headFresh.points.length, 12);
    assert.ok(headFresh.suggestion.learningRate >= headFresh.points[0].lr && headFresh.suggestion.learningRate <= headFresh.points[11].lr);
    assert.deepEqual(sessionState(s, classifier), initial);
    assert.equal(tf.memory().numTensors, tensors);

    const phase = { epochs: 2, batchSize: 8, earlyStopping: false as const };
    await trainHead(s, { ...phase, learningRate: 0.01 });
    const trained = sessionState(s, classifier);
    // The head's test starts from the head's initial weights, not from the trained head.
    assert.deepEqual(curveOf(await findLearningRate(s, { phase: 'head', ...quick })), curveOf(headFresh));
    const ftAfterHead = await findLearningRate(s, { phase: 'fine-tune', from: 'block_16', ...quick });
    assert.equal(ftAfterHead.fromBlock, 'block_16');
    assert.equal(ftAfterHead.cut, s.base.spec.blocks.find((b) => b.name === 'block_15')!.output);
    assert.deepEqual(sessionState(s, classifier), trained);

    const ft1 = await fineTune(s, { ...phase, from: 'block_16' });
    const tuned = sessionState(s, classifier);
    const tensorsTuned = tf.memory().numTensors;
    // After fine-tuning, the fine-tune test still starts from the trained head; then the session is as fine-tuning left it.
    const ftAgain = await findLearningRate(s, { phase: 'fine-tune', from: 'block_16', ...quick });
    assert.deepEqual(curveOf(ftAgain), curveOf(ftAfterHead));
    await findLearningRate(s, { phase: 'head', ...quick });
    assert.deepEqual(sessionState(s, classifier), tuned);
    assert.equal(tf.memory().numTensors, tensorsTuned);
    // And fine-tuning again gives what it gave before the tests ran.
    const ft2 = await fineTune(s, { ...phase, from: 'block_16' });
    assert.deepEqual(ft2.records.map((r) => r.loss), ft1.records.map((r) => r.loss));
  });
});

test('bad options are refused naming them, before anything runs', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  await withSession(async (s, classifier) => {
    const before = sessionState(s, classifier);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ phase: 'tail' }, /phase: expected 'head' or 'fine-tune', got 'tail'/],
      [{}, /phase: expected 'head' or 'fine-tune', got nothing/],
      [{ phase: 'head', steps: 5 }, /steps: expected an integer >= 10, got 5/],
      [{ phase: 'head', start: 0 }, /start: expected a positive number, got 0/],
      [{ phase: 'head', start: 1e-3, end: 1e-4 }, /end: expected a finite number > start \(0\.001\), got 0\.0001/],
      [{ phase: 'head', batchSize: 0 }, /batchSize: expected an integer >= 1, got 0/],
      [{ phase: 'head', optimizer: 'lion' }, /optimizer: expected adam, rmsprop, sgd, got 'lion'/],
      [{ phase: 'head', labelSmoothing: 1 }, /labelSmoothing: expected a number in \[0, 1\), got 1/],
      [{ phase: 'head', smoothing: 1 }, /smoothing: expected a number in \[0, 1\), got 1/],
      [{ phase: 'head', divergeFactor: 1 }, /divergeFactor: expected a number > 1, got 1/],
      [{ phase: 'head', suggest: 'valley' }, /suggest: expected minimum or steepest, got valley/],
      [{ phase: 'head', stpes: 100 }, /options: expected only phase, from, start.*, got 'stpes'/],
      [{ phase: 'head', from: 'block_11' }, /from: expected nothing for phase 'head'/],
    ];
    for (const [options, message] of cases) await assert.rejects(findLearningRate(s, options as unknown as LrFinderOptions), message);
    // A phase's options are accepted as they are; what does not apply to the test is ignored.
    const r = await findLearningRate(s, { epochs: 3, learningRate: 0.5, earlyStopping: false, phase: 'head', ...quick } as LrFinderOptions);
    assert.equal(r.points.length, 12);
    assert.deepEqual(sessionState(s, classifier), before);
  });
});

test('a test whose first step is not finite says so and leaves the weights as they were', async () => {
  await initEngine({ engine: 'wasm', quiet: true });
  const poison = (classifier: tf.LayersModel) => {
    const kernel = classifier.getLayer('head_output').getWeights()[0];
    const bad = tf.fill(kernel.shape, NaN);
    classifier.getLayer('head_output').setWeights([bad, classifier.getLayer('head_output').getWeights()[1]]);
    bad.dispose();
  };
  await withSession(async (s, classifier) => {
    const before = sessionState(s, classifier);
    await assert.rejects(findLearningRate(s, { phase: 'head', ...quick }), /findLearningRate\(head\): no step finished: stopped at step 1 .*non-finite/);
    assert.deepEqual(sessionState(s, classifier), before);
  }, poison);
});
