import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureRenderedData, renderedCacheFolder } from '../../lib/data/rendered';

const SPEC = { train: 6, test: 3, size: 24 };

function pngs(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.png'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

test('the rendered cache key includes the split design', () => {
  const a = renderedCacheFolder('/c', SPEC);
  assert.equal(renderedCacheFolder('/c', { ...SPEC, splitDesign: 'shifted' }), a, 'shifted is the default');
  assert.notEqual(renderedCacheFolder('/c', { ...SPEC, splitDesign: 'iid' }), a);
  assert.equal(renderedCacheFolder('/c', { ...SPEC, seed: undefined }), a, 'an undefined field takes its default');
  assert.match(path.basename(a), /^rendered-v2-[0-9a-f]{16}$/);
  assert.throws(() => renderedCacheFolder('/c', { splitDesign: 'random' as never }), /render.splitDesign: expected one of shifted, iid/);
});

test('a damaged rendered cache (files deleted, truncated or added) is rendered again, not trusted', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-rendered-'));
  const warn = console.warn;
  const warnings: string[] = [];
  try {
    const dir = await ensureRenderedData(cacheDir, SPEC, true);
    const files = pngs(dir);
    assert.equal(files.length, 9);
    const bytes = new Map(files.map((f) => [f, fs.readFileSync(f)]));
    const mtime = fs.statSync(files[0]).mtimeMs;
    // Intact: trusted as it is (nothing re-rendered).
    assert.equal(await ensureRenderedData(cacheDir, SPEC, true), dir);
    assert.equal(fs.statSync(files[0]).mtimeMs, mtime);

    console.warn = (m: string) => warnings.push(m);
    const damage = [
      (): void => fs.rmSync(files[2]),
      (): void => fs.truncateSync(files[4], 100),
      (): void => fs.copyFileSync(files[0], path.join(dir, 'rps', 'rock', 'rock99-000.png')),
    ];
    for (const hurt of damage) {
      hurt();
      assert.equal(await ensureRenderedData(cacheDir, SPEC, false), dir);
      const now = pngs(dir);
      assert.deepEqual(now, files, 'the same files again');
      for (const f of now) assert.ok(fs.readFileSync(f).equals(bytes.get(f)!), `${f} is rendered again, byte for byte`);
    }
    assert.equal(warnings.length, 3);
    assert.match(warnings[0], /is damaged \(1 of 9 files missing, e\.g\. rps-test-set\/scissors\//);
    assert.match(warnings[1], /is damaged \(1 file\(s\) of the wrong size/);
    assert.match(warnings[2], /is damaged \(1 file\(s\) not in the manifest, e\.g\. rps\/rock\/rock99-000\.png\)/);
    // A folder without a manifest (e.g. from a crash outside buildDirAtomic) is not trusted either.
    fs.rmSync(path.join(dir, 'manifest.json'));
    await ensureRenderedData(cacheDir, SPEC, false);
    assert.match(warnings[3], /no readable manifest/);
    assert.ok(fs.existsSync(path.join(dir, 'manifest.json')));
  } finally {
    console.warn = warn;
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});
