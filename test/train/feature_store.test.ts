/** The feature store: memory and disk caching, keys, slot replacement, atomic and versioned entries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FeatureStore, FEATURE_CACHE_VERSION } from '../../lib/train/feature_store';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rps-features-'));
}

const compute = (values: number[], shape: number[], calls: { n: number }) => async () => {
  calls.n++;
  return { data: Float32Array.from(values), shape };
};

test('computes once, then serves from memory, and from disk in a new store', async () => {
  const dir = tmp();
  try {
    const calls = { n: 0 };
    const parts = { base: 'b', cut: 'head_pool', data: 'k1', view: 'clean' };
    const a = new FeatureStore({ cacheDir: dir });
    const first = await a.get('head:train:0', parts, compute([1, 2, 3, 4, 5, 6], [2, 3], calls));
    const again = await a.get('head:train:0', { ...parts }, compute([9], [1], calls));
    assert.equal(calls.n, 1);
    assert.equal(again, first);
    assert.deepEqual(a.getStats(), { memoryHits: 1, diskHits: 0, computed: 1, bytes: 24 });
    const files = fs.readdirSync(path.join(dir, 'features')).sort();
    assert.deepEqual(files, [`${first.key}.f32`, `${first.key}.json`]);
    const header = JSON.parse(fs.readFileSync(path.join(dir, 'features', `${first.key}.json`), 'utf8'));
    assert.equal(header.version, FEATURE_CACHE_VERSION);
    assert.deepEqual(header.shape, [2, 3]);

    const b = new FeatureStore({ cacheDir: dir });
    assert.ok(b.has(parts));
    const fromDisk = await b.get('head:train:0', parts, compute([0], [1], calls));
    assert.equal(calls.n, 1);
    assert.deepEqual(Array.from(fromDisk.data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(fromDisk.shape, [2, 3]);
    assert.equal(b.getStats().diskHits, 1);
    a.dispose();
    b.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('other parts give another key; a new key in a slot releases the old entry', async () => {
  const calls = { n: 0 };
  const store = new FeatureStore();
  const k1 = await store.get('slot', { data: 'k1' }, compute([1, 2], [2, 1], calls));
  const k2 = await store.get('slot', { data: 'k2' }, compute([3, 4, 5], [3, 1], calls));
  assert.notEqual(k1.key, k2.key);
  assert.equal(store.getStats().bytes, 12, 'the old entry is no longer held');
  assert.equal(store.has({ data: 'k1' }), false);
  // Same parts written in another key order: same key.
  assert.equal(FeatureStore.keyOf({ a: 1, b: [2, 3] }), FeatureStore.keyOf({ b: [2, 3], a: 1 }));
  store.dispose();
  await assert.rejects(store.get('slot', { data: 'k1' }, compute([1], [1], calls)), /after dispose/);
});

test('a truncated or foreign entry on disk is ignored and recomputed; no temp files stay', async () => {
  const dir = tmp();
  try {
    const calls = { n: 0 };
    const parts = { data: 'x' };
    const key = (await new FeatureStore({ cacheDir: dir }).get('s', parts, compute([1, 2, 3, 4], [4], calls))).key;
    fs.writeFileSync(path.join(dir, 'features', `${key}.f32`), Buffer.alloc(8));
    const again = await new FeatureStore({ cacheDir: dir }).get('s', parts, compute([1, 2, 3, 4], [4], calls));
    assert.equal(calls.n, 2);
    assert.deepEqual(Array.from(again.data), [1, 2, 3, 4]);
    const header = path.join(dir, 'features', `${key}.json`);
    fs.writeFileSync(header, JSON.stringify({ ...JSON.parse(fs.readFileSync(header, 'utf8')), version: FEATURE_CACHE_VERSION + 1 }));
    await new FeatureStore({ cacheDir: dir }).get('s', parts, compute([1, 2, 3, 4], [4], calls));
    assert.equal(calls.n, 3, 'an entry of another version is not used');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'features')).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a computation with the wrong size is refused', async () => {
  const store = new FeatureStore();
  await assert.rejects(store.get('s', {}, async () => ({ data: new Float32Array(5), shape: [2, 3] })), /computed 5 values for shape \[2,3\]/);
});

test('an entry overwritten with garbage of the right length fails its checksum and is computed again', async () => {
  const dir = tmp();
  try {
    const calls = { n: 0 };
    const parts = { data: 'garbage' };
    const key = (await new FeatureStore({ cacheDir: dir }).get('s', parts, compute([1, 2, 3, 4], [4], calls))).key;
    const f32 = path.join(dir, 'features', `${key}.f32`);
    fs.writeFileSync(f32, Buffer.from(Float32Array.from([1e30, 1e30, 1e30, 1e30]).buffer));
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    let again;
    try {
      again = await new FeatureStore({ cacheDir: dir }).get('s', parts, compute([1, 2, 3, 4], [4], calls));
    } finally {
      console.warn = warn;
    }
    assert.equal(calls.n, 2);
    assert.deepEqual(Array.from(again.data), [1, 2, 3, 4]);
    assert.deepEqual(warnings, [`feature cache ${f32} does not match its checksum (damaged); computing it again`]);
    // The rebuilt entry is on disk and trusted again.
    const third = new FeatureStore({ cacheDir: dir });
    await third.get('s', parts, compute([0, 0, 0, 0], [4], calls));
    assert.equal(third.getStats().diskHits, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
