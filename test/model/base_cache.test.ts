/** Downloaded bases: a bad mirror caches nothing, the cache is verified against its SHA-256 record, downloads resume. */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as http from 'node:http';
import { initEngine } from '../../lib/engine/engine';
import { baseCacheDir, loadBase } from '../../lib/model/bases';
import { sha256 } from '../../lib/util/hash';
import { buildTinyBase, serveDir, tempDir, writeModelDir, type StaticServer } from './helpers';

const URL_ = 'https://models.example.invalid/tiny/model.json';
const SHARD1 = '/tiny/group1-shard1of2.bin';
const SHARD2 = '/tiny/group1-shard2of2.bin';
const opts = { base: URL_, cutLayer: 'out_relu', quiet: true } as const;

/** A body without Content-Length (chunked), so the client cannot tell it is short or long. */
const unsized = (bytes: (body: Buffer) => Buffer) => (_req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void => {
  res.writeHead(200);
  res.end(bytes(body));
};

describe('cached bases', () => {
  let root: string;
  let server: StaticServer;
  let work: string;
  let n = 0;
  const fresh = (): string => path.join(work, `cache${n++}`);
  const cachedDir = (cacheDir: string): string => baseCacheDir(`url-${sha256(URL_).slice(0, 16)}`, cacheDir);

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    root = tempDir('mirror');
    work = tempDir('base-cache');
    const tiny = buildTinyBase();
    await writeModelDir(tiny, path.join(root, 'tiny'));
    tiny.dispose();
    server = await serveDir(root);
  });
  after(async () => {
    await server?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a shard served short or long without Content-Length is found before caching; the fixed mirror then works', async () => {
    for (const [damage, what] of [[(b: Buffer) => b.subarray(0, b.length - 52), 'truncated'], [(b: Buffer) => Buffer.concat([b, Buffer.alloc(16)]), 'extra bytes']] as const) {
      const cacheDir = fresh();
      server.routes.set(SHARD2, unsized(damage));
      const sizes = [SHARD1, SHARD2].map((p) => fs.statSync(path.join(root, p)).size);
      const got = sizes[0] + (what === 'truncated' ? sizes[1] - 52 : sizes[1] + 16);
      await assert.rejects(loadBase({ ...opts, mirror: server.url, cacheDir }), (err: Error) => {
        assert.equal(
          err.message,
          `${server.url}/tiny/model.json: the downloaded files are unusable, nothing was cached: model.json: weight shards ` +
            `'group1-shard1of2.bin' (${sizes[0]} bytes), 'group1-shard2of2.bin' (${got - sizes[0]} bytes) hold ${got} bytes but ` +
            `weightsManifest describes ${sizes[0] + sizes[1]} (${what}); the file is damaged or belongs to another model`,
        );
        return true;
      });
      assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'bases')), [], 'nothing cached, nothing to resume');
      server.routes.delete(SHARD2);
      const b = await loadBase({ ...opts, mirror: server.url, cacheDir });
      assert.deepEqual(b.model.outputs[0].shape, [null, 8, 8, 24]);
      b.model.dispose();
    }
  });

  test('a shard of the right length holding 1e30 is refused, naming the file and the weight; nothing is cached', async () => {
    const cacheDir = fresh();
    server.routes.set(SHARD1, unsized((b) => Buffer.from(new Float32Array(b.length / 4).fill(1e30).buffer)));
    try {
      await assert.rejects(
        loadBase({ ...opts, mirror: server.url, cacheDir }),
        /nothing was cached: group1-shard1of2\.bin: weight 'Conv1\/kernel' holds 1\.0000000150474662e\+30 \(a usable weight is finite and at most 1000000 in magnitude\)/,
      );
    } finally {
      server.routes.delete(SHARD1);
    }
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'bases')), []);
  });

  test('the cache is verified against the SHA-256 recorded at download: a changed file is fetched again, or the folder to delete is named', async () => {
    const cacheDir = fresh();
    (await loadBase({ ...opts, mirror: server.url, cacheDir })).model.dispose();
    const dir = cachedDir(cacheDir);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'integrity.json'), 'utf8'));
    assert.deepEqual(Object.keys(record.files).sort(), ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
    const shard = path.join(dir, 'group1-shard1of2.bin');
    const original = fs.readFileSync(shard);
    // Same length, plausible values: only the hash can tell.
    fs.writeFileSync(shard, Buffer.alloc(original.length));
    const warnings: string[] = [];
    const [warn, log] = [console.warn, console.log];
    console.warn = (m: string) => warnings.push(m);
    console.log = () => undefined;
    const before = server.requests.length;
    try {
      (await loadBase({ ...opts, quiet: false, mirror: server.url, cacheDir })).model.dispose();
    } finally {
      [console.warn, console.log] = [warn, log];
    }
    assert.deepEqual(warnings, [`cached base ${dir} is damaged (group1-shard1of2.bin changed since it was downloaded: its SHA-256 differs from the recorded one); downloading it again`]);
    assert.ok(server.requests.slice(before).includes(SHARD1));
    assert.ok(fs.readFileSync(shard).equals(original), 'the cache is whole again');

    fs.writeFileSync(shard, Buffer.alloc(original.length));
    const gone = await serveDir(root);
    const deadUrl = gone.url;
    await gone.close();
    await assert.rejects(
      loadBase({ ...opts, mirror: deadUrl, cacheDir }),
      new RegExp(`cached base ${escape(dir)} is damaged \\(group1-shard1of2\\.bin changed since it was downloaded: .*\\) and downloading it again failed: .*cannot reach 127\\.0\\.0\\.1.*; delete ${escape(dir)} and run again`),
    );
  });

  test('a cache written before integrity records: a truncated shard is fetched again, a sound one is recorded', async () => {
    for (const damaged of [true, false]) {
      const cacheDir = fresh();
      const dir = cachedDir(cacheDir);
      fs.cpSync(path.join(root, 'tiny'), dir, { recursive: true });
      if (damaged) fs.truncateSync(path.join(dir, 'group1-shard2of2.bin'), 100);
      const before = server.requests.length;
      const b = await loadBase({ ...opts, mirror: server.url, cacheDir });
      b.model.dispose();
      assert.equal(server.requests.slice(before).includes(SHARD2), damaged);
      assert.ok(fs.existsSync(path.join(dir, 'integrity.json')));
      assert.equal(fs.statSync(path.join(dir, 'group1-shard2of2.bin')).size, fs.statSync(path.join(root, SHARD2)).size);
    }
  });

  test('an interrupted base download resumes in the next run (Range request), keeping the shards already complete', async () => {
    const cacheDir = fresh();
    // A connection that drops after 500 bytes, every time.
    server.routes.set(SHARD2, (req, res, body) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      const headers = start ? { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : { 'Content-Length': body.length };
      res.writeHead(start ? 206 : 200, headers);
      res.write(body.subarray(start, start + 500), () => res.socket?.end());
    });
    try {
      await assert.rejects(loadBase({ ...opts, mirror: server.url, cacheDir }), /weight shard 'group1-shard2of2\.bin' .*could not be downloaded.*connection closed/);
    } finally {
      server.routes.delete(SHARD2);
    }
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'bases')).filter((f) => !f.startsWith('.')), [], 'nothing usable cached yet');
    const before = server.requests.length;
    const b = await loadBase({ ...opts, mirror: server.url, cacheDir });
    b.model.dispose();
    const seen = server.requests.slice(before).map((p, i) => `${p} ${server.ranges[before + i] ?? ''}`.trim());
    assert.deepEqual(seen, ['/tiny/model.json', `${SHARD2} bytes=2000-`]);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'bases')), [path.basename(cachedDir(cacheDir))], 'the download folder became the cache');
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
