/** Where the data caches live (downloads, extractions, renders, decoded pixels). */
import * as path from 'node:path';

/** Environment variable that moves the data cache (default `<project>/data`). */
export const DATA_CACHE_ENV = 'RPS_CACHE_DIR';

/** The cache folder: env RPS_CACHE_DIR, else `data/` in the project root. */
export function defaultDataCacheDir(): string {
  return process.env[DATA_CACHE_ENV] || path.resolve(__dirname, '..', '..', 'data');
}
