/** FileMemo: facts remembered by path, size and mtime; recomputed on change and while a file is too recent to trust. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileMemo, RACY_MS } from '../../lib/util/file_memo';
import { tempDir } from '../data/fixtures';

const dir = tempDir('file-memo');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Sets a file's mtime `ms` into the past. */
function age(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

test('computed once for an unchanged file; recomputed when its size or mtime changes', () => {
  const file = path.join(dir, 'a.txt');
  fs.writeFileSync(file, 'one');
  age(file, 60_000);
  const memo = FileMemo.open<string>();
  let calls = 0;
  const read = (f: string): string => (calls++, fs.readFileSync(f, 'utf8'));
  assert.equal(memo.get(file, read), 'one');
  assert.equal(memo.get(file, read), 'one');
  assert.equal(calls, 1);
  fs.writeFileSync(file, 'three');
  age(file, 60_000);
  assert.equal(memo.get(file, read), 'three');
  assert.equal(calls, 2);
  fs.utimesSync(file, new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
  memo.get(file, read);
  assert.equal(calls, 3, 'another mtime, same size');
});

test('a file rewritten within the same clock tick (same size and mtime) is not served stale', () => {
  const file = path.join(dir, 'racy.txt');
  fs.writeFileSync(file, 'aaaa');
  const memo = FileMemo.open<string>();
  const read = (f: string): string => fs.readFileSync(f, 'utf8');
  assert.equal(memo.get(file, read), 'aaaa');
  const { mtime } = fs.statSync(file);
  fs.writeFileSync(file, 'bbbb');
  fs.utimesSync(file, mtime, mtime);
  assert.equal(memo.get(file, read), 'bbbb');
  assert.ok(RACY_MS >= 1000, 'covers file systems with one-second timestamps');
});

test('the index on disk is shared by later processes; entries of deleted files are dropped on save', () => {
  const file = path.join(dir, 'kept.txt');
  const gone = path.join(dir, 'gone.txt');
  fs.writeFileSync(file, 'x');
  fs.writeFileSync(gone, 'y');
  age(file, 60_000);
  age(gone, 60_000);
  const index = path.join(dir, 'memo', 'index.json');
  const memo = FileMemo.open<string>(index);
  assert.equal(FileMemo.open<string>(index), memo, 'one memo per index in a process');
  memo.get(file, () => 'computed');
  memo.get(gone, () => 'computed');
  fs.rmSync(gone);
  memo.save();
  const saved = JSON.parse(fs.readFileSync(index, 'utf8'));
  assert.deepEqual(Object.keys(saved.entries), [file]);
  // What a later process sees: the index read from disk.
  const copy = path.join(dir, 'memo', 'copy.json');
  fs.copyFileSync(index, copy);
  let calls = 0;
  assert.equal(FileMemo.open<string>(copy).get(file, () => (calls++, 'again')), 'computed');
  assert.equal(calls, 0);
  // A damaged index is ignored.
  const bad = path.join(dir, 'memo', 'bad.json');
  fs.writeFileSync(bad, '{ not json');
  assert.equal(FileMemo.open<string>(bad).get(file, () => 'fresh'), 'fresh');
});
