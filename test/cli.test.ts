/** The training CLI: one flag per experiment parameter, values over the environment, bad input refused early. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildCli, parseCliArgs } from '../lib/cli/train';
import { DEFAULT_PARAMETERS, PARAMETER_NAMES, parameterFlagName, PARAMETERS } from '../lib/experiment/parameters';

const root = path.resolve(__dirname, '..');

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--require', 'ts-node/register', 'lib/cli/train.ts', ...args], {
    cwd: root,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

test('every flag sets its parameter; older names still work; no flags leave the defaults', () => {
  const { parameters: p, run } = parseCliArgs(
    [
      '--head-epochs', '4', '--fine-tune-epochs', '0', '--fine-tune-from', 'block_13', '--head-learning-rate', '0.01', '--fine-tune-learning-rate', '0.0005',
      '--head-optimizer', 'rmsprop', '--fine-tune-optimizer', 'sgd', '--batch-size', '16', '--validation-split', '0.2', '--patience', '0',
      '--lr-schedule', 'step:2:0.5', '--no-augment', '--augment-views', '3', '--dropout', '0.3', '--hidden-units', '64', '--rotation', '0.1', '--no-flip',
      '--base', 'embedded', '--data', 'rendered', '--rendered-train', '30', '--rendered-test', '9', '--image-size', '96', '--seed', '5',
      '--engine', 'wasm', '--workers', '1', '--train-workers', '2', '--cache-dir', '/tmp/c', '--out', '/tmp/o', '--progress', 'lines',
    ],
    {},
  );
  assert.deepEqual(
    { ...p.values },
    {
      ...DEFAULT_PARAMETERS,
      headEpochs: 4, fineTuneEpochs: 0, fineTuneFrom: 'block_13', headLearningRate: 0.01, fineTuneLearningRate: 0.0005, headOptimizer: 'rmsprop',
      fineTuneOptimizer: 'sgd', batchSize: 16, validationSplit: 0.2, patience: 0, lrSchedule: 'step:2:0.5', augment: false, augmentViews: 3,
      dropout: 0.3, hiddenUnits: 64, rotation: 0.1, flip: false, base: 'embedded', data: 'rendered', renderedTrain: 30, renderedTest: 9, imageSize: 96,
      seed: 5, engine: 'wasm', workers: 1, trainWorkers: 2, cacheDir: '/tmp/c',
    },
  );
  assert.deepEqual(run, { out: '/tmp/o', progress: 'lines' });
  assert.deepEqual(parseCliArgs(['--lr-finder'], {}).run, { out: undefined, progress: undefined, lrFinder: true });
  assert.equal(p.from.headEpochs, 'flag');
  const older = parseCliArgs(['--epochs', '4', '--lr', '0.01', '--fine-tune-lr', '0.001', '--optimizer', 'sgd', '--render-train', '30', '--backend', 'cpu'], {}).parameters.values;
  assert.deepEqual([older.headEpochs, older.headLearningRate, older.fineTuneLearningRate, older.headOptimizer, older.renderedTrain, older.engine], [4, 0.01, 0.001, 'sgd', 30, 'cpu']);
  assert.deepEqual({ ...parseCliArgs([], {}).parameters.values }, { ...DEFAULT_PARAMETERS });
  // A block index is a number (issue #14: '11' used to reach surgery as a string).
  assert.equal(parseCliArgs(['--fine-tune-from', '11'], {}).parameters.values.fineTuneFrom, 11);
});

test('the environment sets parameters under the flags; --small selects the preset (issue #14: RPS_* were ignored)', () => {
  const env = { RPS_ENGINE: 'cpu', RPS_DATA: '/nonexistent', RPS_BASE: 'embedded', RPS_HEAD_EPOCHS: '2' };
  const p = parseCliArgs(['--head-epochs', '5'], env).parameters;
  assert.deepEqual([p.values.engine, p.values.data, p.values.base, p.values.headEpochs], ['cpu', '/nonexistent', 'embedded', 5]);
  assert.deepEqual([p.from.engine, p.from.headEpochs], ['environment', 'flag']);
  assert.equal(parseCliArgs([], { RPS_BACKEND: 'cpu' }).parameters.values.engine, 'cpu');
  assert.throws(() => parseCliArgs([], { RPS_BACKEND: 'tpu' }), /RPS_BACKEND: expected one of auto, tensorflow-gpu/);
  const small = parseCliArgs(['--small', '--image-size', '64'], {}).parameters.values;
  assert.deepEqual([small.data, small.renderedTrain, small.imageSize], ['rendered', 150, 64]);
});

test('bad flags are refused naming the flag and what it expects', () => {
  const bad: [string[], RegExp][] = [
    [['--head-epochs', 'ten'], /--head-epochs <n>.*expected an integer >= 1, got 'ten'/],
    [['--epochs', '0'], /--epochs <n>.*expected an integer >= 1, got 0/],
    [['--lr', '-1'], /--lr <rate>.*positive number/],
    [['--validation-split', '1.5'], /\[0, 1\)/],
    [['--engine', 'tpu'], /Allowed choices are auto, tensorflow-gpu/],
    [['--head-optimizer', 'adagrad'], /Allowed choices are adam, rmsprop, sgd/],
    [['--lr-schedule', 'linear'], /expected constant, step/],
    [['--image-size', '100'], /multiple of 32, got 100/],
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseCliArgs(argv, {}), re, argv.join(' '));
  assert.throws(() => parseCliArgs(['--epochs', '2', '--head-epochs', '3'], {}), /--head-epochs and --epochs set the same parameter \(headEpochs\)/);
});

test('--help lists a flag for every parameter; the README documents every flag', () => {
  const help = buildCli().helpInformation();
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const name of PARAMETER_NAMES) {
    const flag = `--${parameterFlagName(name)}`;
    assert.ok(help.includes(flag), `--help lacks ${flag}`);
    assert.ok(readme.includes(`\`${flag}\``), `README lacks ${flag}`);
    if (PARAMETERS[name].kind === 'boolean') assert.ok(help.includes(`--no-${parameterFlagName(name)}`));
  }
  for (const flag of ['--out', '--progress', '--small', '--lr-finder']) assert.ok(help.includes(flag) && readme.includes(`\`${flag}`), flag);
});

test('real process: a bad flag or environment value exits 1 with a message; a missing data folder fails before any training', () => {
  const bad = runCli(['--image-size', 'big']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /option '--image-size <px>' argument 'big' is invalid/);
  const env = runCli([], { RPS_BACKEND: 'tpu' });
  assert.equal(env.status, 1);
  assert.match(env.stderr, /train: RPS_BACKEND: expected one of auto/);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-cli-'));
  try {
    const missing = runCli(['--engine', 'cpu', '--out', path.join(tmp, 'out'), '--cache-dir', path.join(tmp, 'cache')], { RPS_DATA: path.join(tmp, 'nonexistent') });
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(missing.stderr, /train: data: no such folder or zip: .*nonexistent/);
    // An output folder that cannot be created is refused before anything else (issue #14: the model was lost after training).
    fs.writeFileSync(path.join(tmp, 'file'), '');
    const unwritable = runCli(['--engine', 'cpu', '--data', 'rendered', '--out', path.join(tmp, 'file', 'out')]);
    assert.equal(unwritable.status, 1);
    assert.match(unwritable.stderr, /train: out: cannot write to .*file\/out \(ENOTDIR\)/);
    assert.doesNotMatch(unwritable.stdout, /rendering|engine:/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
