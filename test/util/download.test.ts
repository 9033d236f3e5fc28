import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChecksumMismatchError, download, mirrorUrl, NetworkUnreachableError } from '../../lib/util/download';
import { sha256 } from '../../lib/util/hash';
import { serveBytes, serveCut, startServer, tempDir } from '../data/fixtures';

const dir = tempDir('download');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const body = randomBytes(300_000);
const hash = sha256(body);

test('downloads, verifies size and SHA-256, leaves no .part', async () => {
  const server = await startServer((req, res) => serveBytes(req, res, body));
  const dest = path.join(dir, 'a.bin');
  const seen: number[] = [];
  await download(`${server.url}/a.bin`, dest, { sha256: hash, size: body.length, quiet: true, onProgress: (r) => seen.push(r) });
  await server.close();
  assert.ok(fs.readFileSync(dest).equals(body));
  assert.ok(!fs.existsSync(`${dest}.part`));
  assert.equal(seen[seen.length - 1], body.length);
});

test('an interrupted download resumes with a Range request', async () => {
  const server = await startServer((req, res, n) => (n === 1 ? serveCut(res, body, 100_000) : serveBytes(req, res, body)));
  const dest = path.join(dir, 'resume.bin');
  await download(`${server.url}/resume.bin`, dest, { sha256: hash, size: body.length, quiet: true });
  await server.close();
  assert.ok(fs.readFileSync(dest).equals(body));
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[0].range, undefined);
  const start = Number(/^bytes=(\d+)-$/.exec(server.requests[1].range ?? '')?.[1]);
  assert.ok(start >= 100_000 && start < body.length, `resumed from ${start}`);
});

test('a server that ignores Range gets a clean restart', async () => {
  const server = await startServer((_req, res, n) => (n === 1 ? serveCut(res, body, 50_000) : (res.writeHead(200, { 'Content-Length': body.length }), res.end(body))));
  const dest = path.join(dir, 'norange.bin');
  await download(`${server.url}/x`, dest, { sha256: hash, quiet: true });
  await server.close();
  assert.ok(fs.readFileSync(dest).equals(body));
  assert.ok(server.requests[1].range, 'second request asked for a range');
});

test('a .part bigger than the expected size is discarded', async () => {
  const server = await startServer((req, res) => serveBytes(req, res, body));
  const dest = path.join(dir, 'big.bin');
  fs.writeFileSync(`${dest}.part`, randomBytes(body.length + 10));
  await download(`${server.url}/x`, dest, { sha256: hash, size: body.length, quiet: true });
  await server.close();
  assert.ok(fs.readFileSync(dest).equals(body));
  assert.equal(server.requests[0].range, undefined);
});

test('a checksum mismatch throws naming the URL and both hashes, and leaves nothing', async () => {
  const server = await startServer((req, res) => serveBytes(req, res, body));
  const dest = path.join(dir, 'bad.bin');
  const wrong = 'f'.repeat(64);
  await assert.rejects(
    download(`${server.url}/bad.bin`, dest, { sha256: wrong, quiet: true }),
    (err: Error) => err instanceof ChecksumMismatchError && err.message.includes(`${server.url}/bad.bin`) && err.message.includes(wrong) && err.message.includes(hash),
  );
  await server.close();
  assert.ok(!fs.existsSync(dest));
  assert.ok(!fs.existsSync(`${dest}.part`));
});

test('follows redirects; a 404 fails at once without retries', async () => {
  const server = await startServer((req, res) => {
    if (req.url === '/old') {
      res.writeHead(302, { Location: '/new' });
      res.end();
    } else if (req.url === '/new') serveBytes(req, res, body);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  const dest = path.join(dir, 'redir.bin');
  await download(`${server.url}/old`, dest, { sha256: hash, quiet: true });
  assert.ok(fs.readFileSync(dest).equals(body));
  const before = server.requests.length;
  await assert.rejects(download(`${server.url}/missing`, path.join(dir, 'missing.bin'), { quiet: true }), /HTTP 404.*\/missing/);
  assert.equal(server.requests.length - before, 1);
  await server.close();
});

test('an unreachable host gives an offline message', async () => {
  const server = await startServer(() => undefined);
  const url = `${server.url}/gone.bin`;
  await server.close();
  await assert.rejects(
    download(url, path.join(dir, 'gone.bin'), { quiet: true, retries: 0 }),
    (err: Error) => err instanceof NetworkUnreachableError && /cannot reach 127\.0\.0\.1:\d+ \(offline\?\)/.test(err.message),
  );
});

test('mirrorUrl replaces the origin and keeps the path', () => {
  const url = 'https://storage.googleapis.com/download.tensorflow.org/data/rps.zip';
  assert.equal(mirrorUrl(url, 'http://10.0.0.5:8000/mirror/'), 'http://10.0.0.5:8000/mirror/download.tensorflow.org/data/rps.zip');
  const saved = process.env.RPS_MIRROR;
  delete process.env.RPS_MIRROR;
  assert.equal(mirrorUrl(url), url);
  process.env.RPS_MIRROR = 'http://m.local';
  assert.equal(mirrorUrl(url), 'http://m.local/download.tensorflow.org/data/rps.zip');
  if (saved === undefined) delete process.env.RPS_MIRROR;
  else process.env.RPS_MIRROR = saved;
  assert.throws(() => mirrorUrl(url, 'not a url'), /mirror: expected a base URL/);
});

test('a host that accepts but never answers times out as unreachable, without retries', async () => {
  const server = await startServer(() => undefined);
  await assert.rejects(
    download(`${server.url}/silent`, path.join(dir, 'silent.bin'), { quiet: true, timeoutMs: 300 }),
    (err: Error) => err instanceof NetworkUnreachableError && /ETIMEDOUT/.test(err.message),
  );
  assert.equal(server.requests.length, 1);
  await server.close();
});

test('a connection dropped more often than `retries` allows fails and leaves nothing at dest', async () => {
  const server = await startServer((_req, res) => serveCut(res, body, 1000));
  const dest = path.join(dir, 'flaky.bin');
  await assert.rejects(download(`${server.url}/flaky`, dest, { quiet: true, retries: 1, sha256: hash }), /connection closed/);
  assert.equal(server.requests.length, 2);
  assert.ok(!fs.existsSync(dest));
  await server.close();
});

test('without a terminal, progress is a plain percentage line per 10 %', async () => {
  const server = await startServer((req, res) => serveBytes(req, res, body));
  const lines: string[] = [];
  const log = console.log;
  const tty = process.stderr.isTTY;
  process.stderr.isTTY = false;
  console.log = (m: string) => lines.push(m);
  try {
    await download(`${server.url}/p.bin`, path.join(dir, 'p.bin'), { size: body.length, label: 'p.bin' });
  } finally {
    console.log = log;
    process.stderr.isTTY = tty;
    await server.close();
  }
  assert.ok(lines.length >= 2 && lines.length <= 11, `${lines.length} lines`);
  assert.match(lines[lines.length - 1], /^p\.bin: 100% \(0\.3 of 0\.3 MB\)$/);
});

test('a .part left by an earlier process is resumed', async () => {
  const server = await startServer((req, res) => serveBytes(req, res, body));
  const dest = path.join(dir, 'left.bin');
  fs.writeFileSync(`${dest}.part`, body.subarray(0, 123_456));
  await download(`${server.url}/left.bin`, dest, { sha256: hash, size: body.length, quiet: true });
  await server.close();
  assert.deepEqual(server.requests.map((r) => r.range), ['bytes=123456-']);
  assert.ok(fs.readFileSync(dest).equals(body));
});
