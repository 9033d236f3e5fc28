/** Content hashing for cache keys (node:crypto, SHA-256). */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** Stable JSON: object keys sorted, so equal options give equal keys. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (ArrayBuffer.isView(value)) return JSON.stringify(sha256(value as NodeJS.ArrayBufferView));
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** Hex SHA-256 of a string or bytes. */
export function sha256(data: string | NodeJS.ArrayBufferView): string {
  const h = createHash('sha256');
  h.update(typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return h.digest('hex');
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A short cache key (first 16 hex chars of SHA-256) over any JSON-like parts. */
export function cacheKey(...parts: unknown[]): string {
  return sha256(stableStringify(parts)).slice(0, 16);
}
