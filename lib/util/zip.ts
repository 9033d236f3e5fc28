/** Safe zip extraction (adm-zip): no paths outside the target, no macOS resource forks. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import AdmZip from 'adm-zip';

export interface ExtractZipOptions {
  /** Called after each extracted file. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Extracts the files of `zipFile` into `destDir` (created). Entries under `__MACOSX/` and `._*` files are skipped;
 * an entry whose path would leave `destDir`, or whose data is corrupt, throws naming the zip and the entry. Returns the
 * number of files written.
 */
export function extractZip(zipFile: string, destDir: string, options: ExtractZipOptions = {}): number {
  let zip: AdmZip;
  try {
    zip = new AdmZip(zipFile);
  } catch (err) {
    throw new Error(`cannot open zip ${zipFile}: ${(err as Error).message}`);
  }
  const root = path.resolve(destDir);
  fs.mkdirSync(root, { recursive: true });
  const entries = zip.getEntries().filter((e) => !e.isDirectory && !isJunk(e.entryName));
  let done = 0;
  for (const entry of entries) {
    const target = path.resolve(root, entry.entryName);
    if (!target.startsWith(root + path.sep)) throw new Error(`zip ${zipFile}: entry '${entry.entryName}' points outside the target folder`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    let data: Buffer;
    try {
      data = entry.getData();
    } catch (err) {
      // adm-zip's own message ("invalid distance too far back", "CRC32 checksum failed") names neither file.
      throw new Error(`zip ${zipFile}: entry '${entry.entryName}' is corrupt (${(err as Error).message}); the zip is damaged: download or create it again`);
    }
    fs.writeFileSync(target, data);
    done++;
    options.onProgress?.(done, entries.length);
  }
  return done;
}

function isJunk(name: string): boolean {
  const parts = name.split(/[\\/]/);
  return parts[0] === '__MACOSX' || parts.some((p) => p.startsWith('._') || p === '.DS_Store');
}
