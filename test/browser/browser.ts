/**
 * Real-browser tests: Debian's Chromium driven by playwright-core (no browser download). Without Chromium the
 * tests skip with a message, unless RPS_REQUIRE_BROWSER=1 (CI sets it), which makes its absence a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { findChromium } from '../../scripts/notebooks/check-reports';

/** Set to 1 where a missing browser (or Jupyter) must fail the tests instead of skipping them. */
export const REQUIRE_ENV = 'RPS_REQUIRE_BROWSER';

export const ROOT = path.resolve(__dirname, '..', '..');

export function required(): boolean {
  return process.env[REQUIRE_ENV] === '1';
}

/** The Chromium executable's path, or undefined when there is none. */
export function chromiumPath(): string | undefined {
  let name: string;
  try {
    name = findChromium();
  } catch {
    return undefined;
  }
  if (path.isAbsolute(name)) return name;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/**
 * `false` when the tests can run, else why they skip. Throws when they must run (RPS_REQUIRE_BROWSER=1) and
 * cannot, so that the test file fails.
 */
export function skipUnless(missing: string | undefined): string | false {
  if (!missing) return false;
  if (required()) throw new Error(`${missing} (and ${REQUIRE_ENV}=1 requires the browser tests to run)`);
  console.log(`# skipped: ${missing}; install it to run these tests (CI sets ${REQUIRE_ENV}=1)`);
  return missing;
}

/** Flags that keep Chromium quiet, offline and working as root; playwright adds --headless and a fresh profile. */
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A headless Chromium with a fake camera that the page may use without asking. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
}

/** A project command line started as a child process (ts-node), for tests that need the real command. */
export interface Command {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the first match of `pattern` in its output (rejects when it exits first or after `ms`). */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `ts-node --transpile-only <script> ...args` in the project root. */
export function startCommand(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Command {
  const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    text += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${pattern} in:\n${text}`)), ms);
        const check = (): void => {
          const m = text.match(pattern);
          if (m) done(undefined, m);
        };
        const done = (err?: Error, m?: RegExpMatchArray): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve(m!);
        };
        listeners.add(check);
        void exited.then((code) => done(new Error(`exited (${code}) before printing ${pattern}:\n${text}`)));
        check();
      }),
  };
}
