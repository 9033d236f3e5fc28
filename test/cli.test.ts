/** The training CLI: flags map 1:1 onto PipelineOptions, --help lists them, bad flags exit non-zero with a message. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildCli, parseCliArgs } from '../lib/cli/train';
import { resolvePipelineOptions, PIPELINE_DEFAULTS } from '../lib/train/pipeline';

test('every flag maps onto its PipelineOptions field', () => {
  const o = parseCliArgs([
    '--epochs', '4', '--fine-tune-epochs', '0', '--fine-tune-from', 'block_13', '--lr', '0.01', '--fine-tune-lr', '0.0005',
    '--optimizer', 'rmsprop', '--fine-tune-optimizer', 'sgd', '--batch-size', '16', '--validation-split', '0.2', '--patience', '0',
    '--lr-schedule', 'step:2:0.5', '--no-augment', '--augment-views', '3', '--dropout', '0.3', '--hidden-units', '64',
    '--base', 'embedded', '--data', 'rendered', '--render-train', '30', '--render-test', '9', '--image-size', '96', '--seed', '5',
    '--backend', 'wasm', '--workers', '1', '--cache-dir', '/tmp/c', '--out', '/tmp/o', '--progress', 'lines',
  ]);
  assert.deepEqual(
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    {
      epochs: 4, fineTuneEpochs: 0, fineTuneFrom: 'block_13', learningRate: 0.01, fineTuneLearningRate: 0.0005, optimizer: 'rmsprop',
      fineTuneOptimizer: 'sgd', batchSize: 16, validationSplit: 0.2, patience: 0, lrSchedule: { kind: 'step', every: 2, factor: 0.5 },
      augment: false, augmentViews: 3, dropout: 0.3, hiddenUnits: 64, base: 'embedded', data: 'rendered', render: { train: 30, test: 9 },
      imageSize: 96, seed: 5, engine: 'wasm', workers: 1, cacheDir: '/tmp/c', outDir: '/tmp/o', progress: 'lines',
    },
  );
  // No flags: every field undefined, so the pipeline's documented defaults apply.
  const none = parseCliArgs([]);
  assert.ok(Object.values(none).every((v) => v === undefined));
  const resolved = resolvePipelineOptions(none);
  assert.equal(resolved.imageSize, PIPELINE_DEFAULTS.imageSize);
  assert.equal(resolved.fineTuneLearningRate, PIPELINE_DEFAULTS.learningRate / 10);
  assert.equal(resolved.fineTuneFrom, 'block_11');
});

test('bad flags are refused naming the flag', () => {
  const bad: [string[], RegExp][] = [
    [['--epochs', 'ten'], /--epochs <n>.*expected an integer >= 1/],
    [['--lr', '-1'], /--lr <rate>.*positive number/],
    [['--validation-split', '1.5'], /\[0, 1\)/],
    [['--backend', 'tpu'], /unknown engine 'tpu'/],
    [['--optimizer', 'adagrad'], /Allowed choices are adam, rmsprop, sgd/],
    [['--lr-schedule', 'linear'], /expected constant, step/],
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseCliArgs(argv), re, argv.join(' '));
  assert.throws(() => resolvePipelineOptions({ imageSize: 100 }), /imageSize: expected a multiple of 32/);
});

test('--help lists the flags; a bad flag exits 1 with a message (real process)', () => {
  const help = buildCli().helpInformation();
  for (const flag of ['--epochs', '--fine-tune-epochs', '--fine-tune-from', '--lr', '--fine-tune-lr', '--base', '--data', '--image-size', '--seed', '--backend', '--out']) {
    assert.ok(help.includes(flag), `--help lacks ${flag}`);
  }
  const root = path.resolve(__dirname, '..');
  const run = spawnSync(process.execPath, ['--require', 'ts-node/register', 'lib/cli/train.ts', '--image-size', 'big'], {
    cwd: root,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    encoding: 'utf8',
  });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /option '--image-size <px>' argument 'big' is invalid/);
});
