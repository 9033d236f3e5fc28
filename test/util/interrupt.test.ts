/** Ctrl-C during an atomic build and a download: one line, the unfinished folder removed, the .part kept; stale temps swept. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sweepStaleTemps, writeFileAtomic } from '../../lib/util/atomic';
import { cleanUpInterrupted, registerInterruptible } from '../../lib/util/interrupt';
import { startServer, tempDir } from '../data/fixtures';

const dir = tempDir('interrupt');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('Ctrl-C: one line saying what was removed and kept, exit 130; the unfinished folder is gone, the .part stays', async () => {
  const body = randomBytes(200_000);
  // Sends half, then stalls: the download is in flight when the signal comes.
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': body.length });
    res.write(body.subarray(0, 100_000));
  });
  const dest = path.join(dir, 'downloads', 'big.zip');
  const built = path.join(dir, 'rendered-v1-abc');
  const child = spawn(process.execPath, ['--require', 'ts-node/register/transpile-only', path.join(__dirname, 'interrupt_child.ts'), `${server.url}/big.zip`, dest, built], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
  });
  const tmp = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
  assert.equal(tmp.length, 1, 'the build is under way in a temporary folder');
  child.kill('SIGINT');
  const code = await exited;
  await server.close();
  assert.equal(code, 130);
  assert.equal(stderr, `interrupted: removed the unfinished ${path.join(dir, tmp[0])}; kept ${dest}.part (0.1 MB; the download resumes on the next run)\n`);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  assert.ok(!fs.existsSync(built));
  assert.equal(fs.statSync(`${dest}.part`).size, 100_000);
});

test('without a handler: what a stopped process left is swept by the next atomic write, if older than this run', () => {
  const folder = path.join(dir, 'sweep');
  fs.mkdirSync(folder);
  // A pid that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const old = new Date(Date.now() - 3600_000);
  const stale = path.join(folder, `.rendered-v1-x.${dead}.0123abcd.tmp`);
  fs.mkdirSync(stale);
  fs.writeFileSync(path.join(stale, 'a.png'), 'x');
  fs.utimesSync(stale, old, old);
  const recent = path.join(folder, `.pixels.bin.${dead}.89abcdef.tmp`);
  fs.writeFileSync(recent, 'written after this run started');
  const live = path.join(folder, `.other.json.${process.ppid}.00000000.tmp`);
  fs.writeFileSync(live, 'a running process is still writing this');
  fs.utimesSync(live, old, old);
  const unrelated = path.join(folder, '.notes.tmp');
  fs.writeFileSync(unrelated, 'not one of ours');
  fs.utimesSync(unrelated, old, old);
  writeFileAtomic(path.join(folder, 'index.json'), '{}');
  assert.deepEqual(fs.readdirSync(folder).sort(), [path.basename(live), path.basename(unrelated), path.basename(recent), 'index.json'].sort());
  assert.deepEqual(sweepStaleTemps(path.join(dir, 'missing')), []);
});

test('cleanUpInterrupted: a .part inside a kept download folder is reported with the folder only; unregistered tasks are not touched', () => {
  const staging = path.join(dir, '.base.download');
  fs.mkdirSync(staging);
  fs.writeFileSync(path.join(staging, 'shard.bin.part'), Buffer.alloc(10));
  const unfinished = path.join(dir, '.x.tmp-folder');
  fs.mkdirSync(unfinished);
  const finished = registerInterruptible({ path: path.join(dir, 'done.tmp'), action: 'remove' });
  fs.writeFileSync(path.join(dir, 'done.tmp'), 'renamed into place already');
  finished();
  registerInterruptible({ path: staging, action: 'keep', note: () => '2 files' });
  registerInterruptible({ path: path.join(staging, 'shard.bin.part'), action: 'keep' });
  registerInterruptible({ path: unfinished, action: 'remove' });
  assert.equal(cleanUpInterrupted(), `interrupted: removed the unfinished ${unfinished}; kept ${staging} (2 files)`);
  assert.ok(!fs.existsSync(unfinished));
  assert.ok(fs.existsSync(path.join(dir, 'done.tmp')));
  assert.equal(cleanUpInterrupted(), 'interrupted: nothing unfinished was left behind');
});
