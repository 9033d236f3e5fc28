import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { notebookParameters, parameterEnvName, smallRun, SMALL_PRESET } from '../../lib/report/params';
import { releaseReused, reuse, reusedNames } from '../../lib/report/reuse';

const defaults = { source: 'auto', imageSize: 160, headEpochs: 10, augment: true, engine: 'auto' };

test('parameterEnvName: camelCase to RPS_SNAKE', () => {
  assert.equal(parameterEnvName('headEpochs'), 'RPS_HEAD_EPOCHS');
  assert.equal(parameterEnvName('imageSize'), 'RPS_IMAGE_SIZE');
  assert.equal(parameterEnvName('seed'), 'RPS_SEED');
});

test('notebookParameters: defaults, small preset, env overrides by type, aliases', () => {
  assert.deepEqual(notebookParameters(defaults, { env: {}, show: false }), defaults);
  const small = notebookParameters(defaults, { env: { RPS_SMALL: '1' }, show: false });
  assert.equal(small.imageSize, SMALL_PRESET.imageSize);
  assert.equal(small.headEpochs, SMALL_PRESET.headEpochs);
  assert.equal(small.source, SMALL_PRESET.source);
  const env = { RPS_SMALL: 'true', RPS_HEAD_EPOCHS: '4', RPS_AUGMENT: 'off', RPS_BACKEND: 'cpu' };
  const p = notebookParameters(defaults, { env, show: false, aliases: { engine: 'RPS_BACKEND' } });
  assert.deepEqual(p, { source: 'rendered', imageSize: SMALL_PRESET.imageSize, headEpochs: 4, augment: false, engine: 'cpu' });
  assert.ok(Object.isFrozen(p));
  // The parameter's own variable wins over its alias.
  assert.equal(notebookParameters(defaults, { env: { RPS_ENGINE: 'wasm', RPS_BACKEND: 'cpu' }, show: false, aliases: { engine: 'RPS_BACKEND' } }).engine, 'wasm');
});

test('notebookParameters: bad overrides and unknown preset keys are named', () => {
  assert.throws(() => notebookParameters(defaults, { env: { RPS_IMAGE_SIZE: 'big' }, show: false }), /RPS_IMAGE_SIZE: expected a number, got 'big'/);
  assert.throws(() => notebookParameters(defaults, { env: { RPS_AUGMENT: 'maybe' }, show: false }), /RPS_AUGMENT: expected true or false/);
  assert.throws(() => notebookParameters(defaults, { env: { RPS_SMALL: '1' }, show: false, small: { epochs: 1 } as never }), /unknown parameter 'epochs'/);
  assert.equal(smallRun({ RPS_SMALL: '0' }), false);
});

test('reuse: same key returns the same value, a new key disposes the old one', async () => {
  const disposed: number[] = [];
  let made = 0;
  const make = () => ++made;
  const a = await reuse('t:x', { k: 1 }, make, (v) => disposed.push(v));
  const b = await reuse('t:x', { k: 1 }, make, (v) => disposed.push(v));
  assert.equal(a, b);
  assert.equal(made, 1);
  const c = await reuse('t:x', { k: 2 }, make, (v) => disposed.push(v));
  assert.equal(c, 2);
  assert.deepEqual(disposed, [1]);
  assert.ok(reusedNames().includes('t:x'));
  releaseReused('t:x');
  assert.deepEqual(disposed, [1, 2]);
  assert.equal(reusedNames().includes('t:x'), false);
});
