/**
 * Downloading large files: progress, resume, redirects, size and SHA-256 verification, mirrors.
 *
 * The bytes go to `<dest>.part`; only a verified file is renamed to `dest`, so `dest` existing means
 * "complete and checked". An interrupted transfer resumes from the `.part` file with an HTTP Range request, also
 * in a later process (the `.part` is kept on Ctrl-C, see `installInterruptHandler`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import * as https from 'node:https';
import * as cliProgress from 'cli-progress';
import { sha256File } from './hash';
import { registerInterruptible } from './interrupt';

export interface DownloadOptions {
  /** Expected SHA-256 (hex). Checked before `dest` appears; a mismatch throws and leaves nothing at `dest`. */
  sha256?: string;
  /** Expected size in bytes. Also lets a `.part` file that is too big be discarded. */
  size?: number;
  /** Name shown next to the progress bar. Default: the file name of `dest`. */
  label?: string;
  /** Called with bytes received so far (including a resumed part) and the total (0 when unknown). */
  onProgress?: (received: number, total: number) => void;
  /** No progress output. Default: false. */
  quiet?: boolean;
  /** Extra attempts after a dropped connection or a transient HTTP error; each resumes. Default: 3. */
  retries?: number;
  /** Socket idle timeout in ms; silence before the response headers counts as unreachable. Default: 30000. */
  timeoutMs?: number;
}

/** Thrown when the host cannot be reached at all (no DNS, connection refused, no route): likely offline. */
export class NetworkUnreachableError extends Error {
  constructor(readonly url: string, readonly host: string, readonly code: string) {
    super(`cannot reach ${host} (offline?): ${code} while fetching ${url}`);
    this.name = 'NetworkUnreachableError';
  }
}

/** Thrown when a downloaded file does not match the expected size or SHA-256. */
export class ChecksumMismatchError extends Error {
  constructor(readonly url: string, readonly expected: string, readonly actual: string, what: 'SHA-256' | 'size') {
    super(`${what} mismatch for ${url}: expected ${expected}, got ${actual}; the file was discarded`);
    this.name = 'ChecksumMismatchError';
  }
}

const UNREACHABLE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN']);
const MAX_REDIRECTS = 10;

/** Environment variable holding a mirror base URL for model weights and other downloads. */
export const MIRROR_ENV = 'RPS_MIRROR';

/**
 * Rewrites `url` to a mirror: the mirror base (option, else env `RPS_MIRROR`) replaces the origin, the path is
 * kept (`https://storage.googleapis.com/a/b.json` + `http://mirror:8000/m` → `http://mirror:8000/m/a/b.json`).
 * Without a mirror the URL is returned unchanged.
 */
export function mirrorUrl(url: string, mirrorBase?: string): string {
  const base = mirrorBase ?? process.env[MIRROR_ENV];
  if (!base) return url;
  let parsedBase: URL;
  try {
    parsedBase = new URL(base);
  } catch {
    throw new Error(`mirror: expected a base URL such as http://host:port/path, got '${base}'`);
  }
  const u = new URL(url);
  return `${parsedBase.origin}${parsedBase.pathname.replace(/\/+$/, '')}${u.pathname}${u.search}`;
}

/**
 * Downloads `url` to `dest`. Resumes from `<dest>.part` when present; verifies `size` and `sha256` when given;
 * renames into place only when verified. Throws `NetworkUnreachableError` when offline, `ChecksumMismatchError`
 * on a bad file (nothing left at `dest` or `.part`), other errors naming the URL.
 */
export async function download(url: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  const retries = options.retries ?? 3;
  const part = `${dest}.part`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const progress = createProgress(options.label ?? path.basename(dest), options);
  const done = registerInterruptible({
    path: part,
    action: 'keep',
    note: () => `${(fs.statSync(part).size / 1e6).toFixed(1)} MB; the download resumes on the next run`,
  });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fetchInto(url, part, options, progress);
        break;
      } catch (err) {
        if (err instanceof NetworkUnreachableError || err instanceof FatalHttpError || attempt >= retries) throw err;
        progress.note(`retrying after: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
      }
    }
  } finally {
    progress.stop();
    done();
  }
  const got = fs.statSync(part).size;
  if (options.size !== undefined && got !== options.size) {
    fs.rmSync(part, { force: true });
    throw new ChecksumMismatchError(url, `${options.size} bytes`, `${got} bytes`, 'size');
  }
  if (options.sha256) {
    const actual = await sha256File(part);
    if (actual !== options.sha256.toLowerCase()) {
      fs.rmSync(part, { force: true });
      throw new ChecksumMismatchError(url, options.sha256.toLowerCase(), actual, 'SHA-256');
    }
  }
  fs.renameSync(part, dest);
}

/** An HTTP status that retrying will not fix (404, 403, ...). */
class FatalHttpError extends Error {}

/** One attempt: appends to `part` from its current length (Range), or restarts it when the server sends it all. */
async function fetchInto(url: string, part: string, options: DownloadOptions, progress: Progress): Promise<void> {
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  if (options.size !== undefined && have > options.size) {
    fs.rmSync(part);
    have = 0;
  }
  if (options.size !== undefined && have === options.size) return;
  const res = await request(url, have > 0 ? { Range: `bytes=${have}-` } : {}, options.timeoutMs ?? 30000);
  let append = false;
  let total = 0;
  if (res.statusCode === 206 && have > 0 && parseRangeStart(res.headers['content-range']) === have) {
    append = true;
    total = have + Number(res.headers['content-length'] ?? 0);
  } else if (res.statusCode === 200) {
    total = Number(res.headers['content-length'] ?? 0);
  } else if (res.statusCode === 416 || res.statusCode === 206) {
    // The part cannot be resumed (range refused or answered from another offset): restart cleanly.
    res.resume();
    fs.rmSync(part, { force: true });
    throw new Error(`server could not resume at byte ${have} of ${url}; restarting`);
  } else {
    res.resume();
    const fatal = res.statusCode !== undefined && res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429;
    const E = fatal ? FatalHttpError : Error;
    throw new E(`HTTP ${res.statusCode} ${res.statusMessage ?? ''} for ${url}`.trim());
  }
  if (!total && options.size) total = options.size;
  let received = append ? have : 0;
  progress.update(received, total);
  options.onProgress?.(received, total);
  // Synchronous appends: every byte the socket delivered is on disk when a connection drops (a piped write stream
  // would lose what backpressure held in memory), so the next attempt resumes from the true part length.
  const fd = fs.openSync(part, append ? 'a' : 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        try {
          fs.writeSync(fd, chunk);
        } catch (err) {
          res.destroy();
          settle(err as Error);
          return;
        }
        received += chunk.length;
        progress.update(received, total);
        options.onProgress?.(received, total);
      });
      res.on('aborted', () => settle(new Error(`connection closed after ${received} bytes of ${url}`)));
      res.on('error', (err) => settle(new Error(`${err.message} after ${received} bytes of ${url}`)));
      res.on('end', () => {
        if (total && received < total) settle(new Error(`connection closed after ${received} of ${total} bytes of ${url}`));
        else settle();
      });
    });
  } finally {
    fs.closeSync(fd);
  }
}

function parseRangeStart(header: string | undefined): number | undefined {
  const m = /^bytes (\d+)-/.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

/** GET with redirects followed; resolves with the final response (body not yet read). */
function request(url: string, headers: Record<string, string>, timeoutMs: number, depth = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new FatalHttpError(`download: not a valid URL: '${url}'`));
      return;
    }
    const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new FatalHttpError(`download: unsupported protocol '${u.protocol}' in ${url}`));
      return;
    }
    let responded = false;
    const req = lib.get(u, { headers: { 'User-Agent': 'rps-transfer', ...headers } }, (res) => {
      responded = true;
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (depth >= MAX_REDIRECTS) {
          reject(new FatalHttpError(`too many redirects from ${url}`));
          return;
        }
        request(new URL(res.headers.location, u).toString(), headers, timeoutMs, depth + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => {
      // Silence before any response means a blackholed host (firewall): as good as offline, no retries.
      const err: NodeJS.ErrnoException = new Error(`no data for ${timeoutMs} ms from ${u.host}`);
      if (!responded) err.code = 'ETIMEDOUT';
      req.destroy(err);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && (UNREACHABLE_CODES.has(err.code) || (err.code === 'ETIMEDOUT' && !responded))) {
        reject(new NetworkUnreachableError(url, u.host, err.code));
      } else reject(new Error(`${err.message} while fetching ${url}`));
    });
  });
}

interface Progress {
  update(received: number, total: number): void;
  note(message: string): void;
  stop(): void;
}

/** A cli-progress bar in a terminal; in notebooks and logs (no TTY) a plain line every 10 %. */
function createProgress(label: string, options: DownloadOptions): Progress {
  if (options.quiet) return { update: () => undefined, note: () => undefined, stop: () => undefined };
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {got}/{all} MB | {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(received, total) {
        const t = total || received;
        if (!started) {
          bar.start(t, received, { got: mb(received), all: mb(t) });
          started = true;
        }
        bar.setTotal(t);
        bar.update(received, { got: mb(received), all: mb(t) });
      },
      note: (message) => process.stderr.write(`\n${label}: ${message}\n`),
      stop: () => started && bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(received, total) {
      if (!total) return;
      const decile = Math.floor((received / total) * 10);
      if (decile === lastDecile) return;
      lastDecile = decile;
      console.log(`${label}: ${Math.floor((received / total) * 100)}% (${mb(received)} of ${mb(total)} MB)`);
    },
    note: (message) => console.log(`${label}: ${message}`),
    stop: () => undefined,
  };
}
