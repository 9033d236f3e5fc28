/** extractZip: a corrupt entry or an escaping path names the zip and the entry. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import AdmZip from 'adm-zip';
import { extractZip } from '../../lib/util/zip';
import { loadDataset } from '../../lib/data/load';
import { tempDir, writeClassFolders } from '../data/fixtures';

const dir = tempDir('zip');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A zip of `<cls>/<file>` entries, the first one deflated with its compressed data damaged. */
function corruptZip(file: string): void {
  const zip = new AdmZip();
  zip.addFile('a/big.png', Buffer.from(Array.from({ length: 3000 }, (_, i) => ((i * i) % 251).toString(16)).join('').repeat(4)));
  zip.addFile('b/small.png', Buffer.from('x'.repeat(2000)));
  const bytes = zip.toBuffer();
  // The first local header is 30 bytes + the name; its deflated data follows.
  for (let i = 60; i < 120; i++) bytes[i] ^= 0x55;
  fs.writeFileSync(file, bytes);
}

test('a corrupt entry names the zip and the entry; nothing is left in the cache', async () => {
  const zipFile = path.join(dir, 'damaged.zip');
  corruptZip(zipFile);
  assert.throws(() => extractZip(zipFile, path.join(dir, 'out')), (err: Error) => {
    // The part in brackets is zlib's own word for the damage.
    assert.equal(err.message.replace(/\(.*\)/, '(...)'), `zip ${zipFile}: entry 'a/big.png' is corrupt (...); the zip is damaged: download or create it again`);
    return true;
  });
  const cacheDir = path.join(dir, 'cache');
  await assert.rejects(loadDataset({ data: zipFile, cacheDir, quiet: true }), /zip .*damaged\.zip: entry 'a\/big\.png' is corrupt/);
  assert.deepEqual(fs.readdirSync(cacheDir), [], 'no half-extracted folder');
});

test('an entry escaping the target folder is refused; a sound zip extracts', () => {
  const evil = new AdmZip();
  evil.addFile('ok.txt', Buffer.from('fine'));
  const bytes = evil.toBuffer();
  // adm-zip normalises names when adding, so rename the entry in the archive itself.
  const patched = Buffer.from(bytes.toString('latin1').replaceAll('ok.txt', '../x.t'), 'latin1');
  const zipFile = path.join(dir, 'evil.zip');
  fs.writeFileSync(zipFile, patched);
  assert.throws(() => extractZip(zipFile, path.join(dir, 'evil-out')), /entry '\.\.\/x\.t' points outside the target folder/);

  const src = path.join(dir, 'src');
  writeClassFolders(src, { a: 2, b: 2 });
  const good = new AdmZip();
  good.addLocalFolder(src);
  good.writeZip(path.join(dir, 'good.zip'));
  let progress = 0;
  assert.equal(extractZip(path.join(dir, 'good.zip'), path.join(dir, 'good-out')), 4, 'counts the files also without onProgress');
  extractZip(path.join(dir, 'good.zip'), path.join(dir, 'good-out2'), { onProgress: (done) => (progress = done) });
  assert.equal(progress, 4);
});
