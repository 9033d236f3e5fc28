import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../lib/data/load';
import { tfdsCacheFolder, tfdsCached } from '../../lib/data/tfds';
import { sha256 } from '../../lib/util/hash';
import { serveBytes, serveCut, startServer, tempDir, writeClassFolders, zipFolder } from './fixtures';

const dir = tempDir('tfds');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Small zips in the real layout: rps.zip holds rps/<class>/*.png, rps-test-set.zip holds rps-test-set/<class>/*.png.
const trainSrc = path.join(dir, 'src-train');
const testSrc = path.join(dir, 'src-test');
writeClassFolders(path.join(trainSrc, 'rps'), { rock: 4, paper: 4, scissors: 4 });
writeClassFolders(path.join(testSrc, 'rps-test-set'), { rock: 2, paper: 2, scissors: 2 });
const trainZip = zipFolder(trainSrc, path.join(dir, 'rps.zip'));
const testZip = zipFolder(testSrc, path.join(dir, 'rps-test-set.zip'));
const spec = {
  train: { size: trainZip.length, sha256: sha256(trainZip) },
  test: { size: testZip.length, sha256: sha256(testZip) },
};

function zipFor(url: string): Buffer | undefined {
  if (url.endsWith('/rps.zip')) return trainZip;
  if (url.endsWith('/rps-test-set.zip')) return testZip;
  return undefined;
}

test('downloads both zips from a mirror, verifies, extracts; TFDS labels; the cache is reused', async () => {
  const server = await startServer((req, res) => {
    const body = zipFor(req.url ?? '');
    if (body) serveBytes(req, res, body);
    else res.writeHead(404).end();
  });
  const cacheDir = path.join(dir, 'cache1');
  const opts = { data: 'tfds', cacheDir, mirror: `${server.url}/m`, tfdsFiles: spec, quiet: true };
  const s = await loadDataset(opts);
  assert.deepEqual(server.requests.map((r) => r.url).sort(), ['/m/download.tensorflow.org/data/rps-test-set.zip', '/m/download.tensorflow.org/data/rps.zip']);
  assert.equal(s.source, 'tfds');
  assert.deepEqual(s.train.classes, ['rock', 'paper', 'scissors']);
  assert.equal(s.train.items.length, 12);
  assert.equal(s.test.items.length, 6);
  for (const it of [...s.train.items, ...s.test.items]) assert.equal(path.basename(path.dirname(it.file)), s.train.classes[it.label]);
  assert.ok(s.train.root.endsWith(path.join('rps')) && s.test.root.endsWith('rps-test-set'));
  assert.ok(tfdsCached({ cacheDir, files: spec }));
  const again = await loadDataset(opts);
  assert.equal(server.requests.length, 2, 'no new requests when cached');
  assert.deepEqual(again.train.items, s.train.items);
  await server.close();
});

test('an interrupted zip download resumes', async () => {
  let cut = false;
  const server = await startServer((req, res) => {
    const body = zipFor(req.url ?? '')!;
    if (!cut && body === trainZip) {
      cut = true;
      serveCut(res, body, Math.floor(body.length / 3));
    } else serveBytes(req, res, body);
  });
  const cacheDir = path.join(dir, 'cache2');
  const files = { train: { ...spec.train, url: `${server.url}/rps.zip` }, test: { ...spec.test, url: `${server.url}/rps-test-set.zip` } };
  const s = await loadDataset({ data: 'tfds', cacheDir, tfdsFiles: files, quiet: true });
  assert.equal(s.train.items.length, 12);
  assert.ok(server.requests.some((r) => r.range), 'a Range request resumed the cut download');
  await server.close();
});

test('a checksum mismatch fails and caches nothing', async () => {
  const server = await startServer((req, res) => serveBytes(req, res, zipFor(req.url ?? '')!));
  const cacheDir = path.join(dir, 'cache3');
  const bad = 'a'.repeat(64);
  const files = { train: { url: `${server.url}/rps.zip`, size: undefined, sha256: bad }, test: { ...spec.test, url: `${server.url}/rps-test-set.zip` } };
  await assert.rejects(loadDataset({ data: 'tfds', cacheDir, tfdsFiles: files, quiet: true }), (err: Error) =>
    err.message.includes(`${server.url}/rps.zip`) && err.message.includes(bad) && err.message.includes(spec.train.sha256),
  );
  // A URL override alone keeps the published size check: the fixture is not the 200 MB file.
  const urlOnly = { train: { url: `${server.url}/rps.zip` }, test: { url: `${server.url}/rps-test-set.zip` } };
  await assert.rejects(loadDataset({ data: 'tfds', cacheDir, tfdsFiles: urlOnly, quiet: true }), /size mismatch .*expected 200682221 bytes/);
  await server.close();
  assert.ok(!tfdsCached({ cacheDir, files }));
  assert.ok(!fs.existsSync(tfdsCacheFolder({ cacheDir, files })));
  const left = fs.existsSync(path.join(cacheDir, 'downloads')) ? fs.readdirSync(path.join(cacheDir, 'downloads')) : [];
  assert.deepEqual(left, []);
});

test('a zip without the rps/ folder is rejected and nothing is cached', async () => {
  const wrongSrc = path.join(dir, 'src-wrong');
  writeClassFolders(path.join(wrongSrc, 'images'), { rock: 1, paper: 1 });
  const wrongZip = zipFolder(wrongSrc, path.join(dir, 'wrong.zip'));
  const server = await startServer((req, res) => serveBytes(req, res, req.url === '/rps.zip' ? wrongZip : testZip));
  const cacheDir = path.join(dir, 'cache4');
  const files = {
    train: { url: `${server.url}/rps.zip`, size: wrongZip.length, sha256: sha256(wrongZip) },
    test: { ...spec.test, url: `${server.url}/rps-test-set.zip` },
  };
  await assert.rejects(loadDataset({ data: 'tfds', cacheDir, tfdsFiles: files, quiet: true }), /did not contain rps\//);
  await server.close();
  assert.ok(!fs.existsSync(tfdsCacheFolder({ cacheDir, files })));
});

test("source 'auto' offline says so and falls back to the rendered set", async () => {
  const server = await startServer(() => undefined);
  const url = server.url;
  await server.close();
  const cacheDir = path.join(dir, 'cache5');
  const files = { train: { ...spec.train, url: `${url}/rps.zip` }, test: { ...spec.test, url: `${url}/rps-test-set.zip` } };
  const s = await loadDataset({ data: 'auto', cacheDir, tfdsFiles: files, render: { train: 6, test: 3, size: 64 }, quiet: true });
  assert.equal(s.source, 'rendered');
  assert.match(s.summary, /cannot reach 127\.0\.0\.1:\d+ \(offline\?\).*Falling back to the rendered/);
  assert.deepEqual(s.train.classes, ['rock', 'paper', 'scissors']);
  assert.equal(s.train.items.length, 6);
  assert.equal(s.test.items.length, 3);
  // The render is cached: a second load finds it (no second render, same files).
  const again = await loadDataset({ data: 'rendered', cacheDir, render: { train: 6, test: 3, size: 64 }, quiet: true });
  assert.deepEqual(again.train.items, s.train.items);
  // A re-run in the same process does not wait for the network again.
  const rerun = await loadDataset({ data: 'auto', cacheDir, tfdsFiles: files, render: { train: 6, test: 3, size: 64 }, quiet: true });
  assert.match(rerun.summary, /still unavailable \(cannot reach 127\.0\.0\.1:\d+\)/);
  assert.equal(rerun.source, 'rendered');
});
