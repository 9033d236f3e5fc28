import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  augmentationOf,
  checkParameter,
  DEFAULT_PARAMETERS,
  identityParameters,
  parameterEnvName,
  parameterFlagName,
  parametersFromEnv,
  parseParameter,
  resolveParameters,
  smallPresetLayer,
} from '../../lib/experiment/parameters';
import { DEFAULT_AUGMENT } from '../../lib/data/augment';
import { readmeWithTable } from '../../scripts/parameters-table';

test('names: one word per concept, the flag and the variable derived from it', () => {
  assert.equal(parameterEnvName('headEpochs'), 'RPS_HEAD_EPOCHS');
  assert.equal(parameterEnvName('cacheDir'), 'RPS_CACHE_DIR');
  assert.equal(parameterFlagName('fineTuneLearningRate'), 'fine-tune-learning-rate');
});

test('values are parsed and checked by kind, and errors name where the value came from', () => {
  assert.equal(parseParameter('imageSize', ' 160 ', '--image-size'), 160);
  assert.equal(parseParameter('augment', 'off', 'RPS_AUGMENT'), false);
  assert.equal(parseParameter('fineTuneFrom', '11', 'x'), 11);
  assert.equal(parseParameter('fineTuneFrom', 'block_13', 'x'), 'block_13');
  assert.equal(checkParameter('rotation', 0), 0, 'an augmentation amount may be 0');
  assert.equal(checkParameter('fineTuneLearningRate', undefined), undefined, 'unset: derived later');
  const bad: [() => unknown, RegExp][] = [
    [() => parseParameter('imageSize', 'abc', '--set imageSize'), /^Error: --set imageSize: expected an integer >= 32 and a multiple of 32, got 'abc'$/],
    [() => parseParameter('headLearningRate', '0', 'RPS_HEAD_LEARNING_RATE'), /RPS_HEAD_LEARNING_RATE: expected a positive number, got 0/],
    [() => parseParameter('validationSplit', '1', 'v'), /v: expected a number in \[0, 1\), got 1/],
    [() => parseParameter('headOptimizer', 'adagrad', 'o'), /o: expected one of adam, rmsprop, sgd/],
    [() => parseParameter('lrSchedule', 'linear', 's'), /s: lr schedule 'linear': expected constant, step/],
    [() => checkParameter('data', ''), /data: expected a non-empty text/],
    [() => checkParameter('headEpochs', 2.5), /headEpochs: expected an integer >= 1, got 2.5/],
    [() => checkParameter('rotation', -0.1), /rotation: expected a number >= 0, got -0.1/],
    [() => resolveParameters([{ from: 'options', values: { epochs: 3 } }]), /epochs \(options\): unknown parameter 'epochs'/],
  ];
  for (const [f, re] of bad) assert.throws(f, re);
});

test('layers apply in order; the environment is read with the older aliases; the small preset only when asked', () => {
  const r = resolveParameters([{ from: 'a', values: { seed: 1, imageSize: 64 } }, { from: 'b', values: { seed: 2, headEpochs: undefined } }]);
  assert.deepEqual([r.values.seed, r.values.imageSize, r.values.headEpochs], [2, 64, DEFAULT_PARAMETERS.headEpochs]);
  assert.deepEqual([r.from.seed, r.from.imageSize, r.from.headEpochs], ['b', 'a', 'default']);
  const env = parametersFromEnv({ RPS_BACKEND: 'cpu', RPS_SEED: '4', RPS_UNRELATED: 'x', RPS_DATA: '' });
  assert.deepEqual(env.values, { engine: 'cpu', seed: 4 });
  assert.equal(env.origins?.engine, 'RPS_BACKEND');
  assert.throws(() => parametersFromEnv({ RPS_SEED: '-1' }), /RPS_SEED: expected an integer >= 0, got -1/);
  assert.deepEqual(smallPresetLayer({}).values, {});
  assert.equal(smallPresetLayer({ RPS_SMALL: '1' }).values.imageSize, 96);
});

test('identity: data, model and session parameters, not training ones; augmentation from the parameters', () => {
  const id = identityParameters(DEFAULT_PARAMETERS);
  for (const k of ['data', 'base', 'imageSize', 'dropout', 'seed', 'validationSplit', 'augment', 'rotation', 'augmentViews']) assert.ok(k in id, k);
  for (const k of ['headEpochs', 'headLearningRate', 'fineTuneFrom', 'batchSize', 'engine', 'workers']) assert.ok(!(k in id), k);
  assert.deepEqual(augmentationOf(DEFAULT_PARAMETERS), DEFAULT_AUGMENT);
  assert.deepEqual(augmentationOf({ ...DEFAULT_PARAMETERS, rotation: 0.05, flip: false }), { ...DEFAULT_AUGMENT, rotation: 0.05, flip: false });
  assert.equal(augmentationOf({ ...DEFAULT_PARAMETERS, augment: false }), false);
});

test("the README's parameter table is the generated one (scripts/parameters-table.ts --write)", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  assert.ok(readme === readmeWithTable(readme), 'README.md parameters table is out of date: run ts-node --transpile-only scripts/parameters-table.ts --write');
});

test("mixRendered takes 'auto' or a count", () => {
  assert.equal(parseParameter('mixRendered', 'auto', 'f'), 'auto');
  assert.equal(parseParameter('mixRendered', '300', 'f'), 300);
  assert.throws(() => parseParameter('mixRendered', 'many', '--mix-rendered'), /--mix-rendered: expected 'auto' or an integer >= 0, got 'many'/);
  assert.throws(() => checkParameter('mixRendered', -1), /expected 'auto' or an integer >= 0, got -1/);
});
