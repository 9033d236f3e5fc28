import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { notebookParameters } from '../../lib/report/params';
import { DEFAULT_PARAMETERS, SMALL_PRESET } from '../../lib/experiment/parameters';
import { releaseReused, reuse, reusedNames } from '../../lib/experiment/reuse';

test('notebookParameters: every experiment parameter, the notebook\'s declarations, the small preset, the environment', () => {
  // Nothing declared: the shared defaults.
  const none = notebookParameters({}, { env: {}, show: false });
  assert.deepEqual({ ...none }, { ...DEFAULT_PARAMETERS });
  // A declaration changes a shared parameter; a name that is not one is the notebook's own.
  const p = notebookParameters({ headEpochs: 7, examplesPerClass: 6 }, { env: {}, show: false });
  assert.equal(p.headEpochs, 7);
  assert.equal(p.examplesPerClass, 6);
  assert.equal(p.imageSize, DEFAULT_PARAMETERS.imageSize);
  assert.ok(Object.isFrozen(p));
  // The small preset beats declarations (for the keys it has, shared or the notebook's own); the environment beats both.
  const small = notebookParameters({ headEpochs: 7, examplesPerClass: 6 }, { env: { RPS_SMALL: '1' }, show: false });
  assert.equal(small.headEpochs, SMALL_PRESET.headEpochs);
  assert.equal(small.examplesPerClass, SMALL_PRESET.examplesPerClass);
  assert.equal(small.data, SMALL_PRESET.data);
  const env = notebookParameters(
    { headEpochs: 7, examplesPerClass: 6, flag: true },
    { env: { RPS_SMALL: 'true', RPS_HEAD_EPOCHS: '4', RPS_AUGMENT: 'off', RPS_BACKEND: 'cpu', RPS_EXAMPLES_PER_CLASS: '3', RPS_FLAG: 'no' }, show: false },
  );
  assert.deepEqual([env.headEpochs, env.augment, env.engine, env.examplesPerClass, env.flag], [4, false, 'cpu', 3, false]);
  // The canonical variable wins over the older alias.
  assert.equal(notebookParameters({}, { env: { RPS_ENGINE: 'wasm', RPS_BACKEND: 'cpu' }, show: false }).engine, 'wasm');
});

test('notebookParameters: bad values are named, with where they came from', () => {
  assert.throws(() => notebookParameters({}, { env: { RPS_IMAGE_SIZE: 'big' }, show: false }), /RPS_IMAGE_SIZE: expected an integer >= 32 and a multiple of 32, got 'big'/);
  assert.throws(() => notebookParameters({}, { env: { RPS_IMAGE_SIZE: '33' }, show: false }), /RPS_IMAGE_SIZE: .*multiple of 32, got 33/);
  assert.throws(() => notebookParameters({}, { env: { RPS_AUGMENT: 'maybe' }, show: false }), /RPS_AUGMENT: expected true or false/);
  assert.throws(() => notebookParameters({}, { env: { RPS_BACKEND: 'tpu' }, show: false }), /RPS_BACKEND: expected one of auto, /);
  assert.throws(() => notebookParameters({ dropout: 1.5 }, { env: {}, show: false }), /dropout \(notebook\): expected a number in \[0, 1\), got 1.5/);
  assert.throws(() => notebookParameters({ examplesPerClass: 6 }, { env: { RPS_EXAMPLES_PER_CLASS: 'six' }, show: false }), /RPS_EXAMPLES_PER_CLASS: expected a number/);
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
