/**
 * The benchmark runner: `npm run bench [-- --quick] [-- name ...]`.
 *
 * Every bench/<name>.ts other than this file and types.ts is a benchmark exporting
 * `run(opts: { quick: boolean }): Promise<BenchResult[]>`. The runner runs the selected ones (all by default)
 * one after another, prints one table, and writes each benchmark's results with the machine's description
 * to bench/results/<name>-<timestamp>.json and bench/results/<name>-latest.json (atomically).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import type { BenchModule, BenchResult } from './types';
import { writeJsonAtomic } from '../lib/util/atomic';
import { currentEngine } from '../lib/engine/engine';

const BENCH_DIR = __dirname;
const NOT_BENCHMARKS = new Set(['run', 'types']);
/** Version of the results file layout. */
const RESULTS_VERSION = 1;

/** The benchmark names found in bench/, sorted. */
export function discoverBenchmarks(dir = BENCH_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .filter((name) => !NOT_BENCHMARKS.has(name))
    .sort();
}

/** What the results files say about the machine. */
export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version.tfjs,
    engine: currentEngine()?.summary ?? null,
  };
}

/** Renders results as an aligned text table. */
export function formatTable(results: BenchResult[]): string {
  const header = ['benchmark', 'case', 'metric', 'value', 'unit', 'note'];
  const rows = results.map((r) => [r.benchmark, r.case, r.metric, formatValue(r.value), r.unit, r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}

/** Checks one result's shape, so a broken benchmark is caught here rather than in the JSON. */
function checkResult(name: string, r: BenchResult): void {
  const ok =
    typeof r.case === 'string' && typeof r.metric === 'string' && typeof r.unit === 'string' && typeof r.value === 'number';
  if (!ok) throw new Error(`bench/${name}.ts returned a malformed result: ${JSON.stringify(r)}`);
}

/** Writes one benchmark's results file and its `-latest` copy; returns the timestamped path. */
export function saveResults(dir: string, name: string, quick: boolean, startedAt: Date, results: BenchResult[]): string {
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const body = { version: RESULTS_VERSION, benchmark: name, startedAt: startedAt.toISOString(), quick, machine: machineInfo(), results };
  const file = path.join(dir, `${name}-${stamp}.json`);
  writeJsonAtomic(file, body);
  writeJsonAtomic(path.join(dir, `${name}-latest.json`), body);
  return file;
}

async function main(argv: string[]): Promise<number> {
  const available = discoverBenchmarks();
  const program = new Command()
    .name('npm run bench --')
    .description(`Runs benchmarks and saves their results under bench/results/. Available: ${available.join(', ')}`)
    .option('--quick', 'short runs (fewer repetitions and cases)', false)
    .option('--out <dir>', 'results folder', path.join(BENCH_DIR, 'results'))
    .option('--list', 'list the benchmarks and exit', false)
    .argument('[names...]', 'benchmarks to run (default: all)')
    .parse(argv);
  const opts = program.opts<{ quick: boolean; out: string; list: boolean }>();
  if (opts.list) {
    console.log(available.join('\n'));
    return 0;
  }
  const names: string[] = program.args.length ? program.args : available;
  const unknown = names.filter((n) => !available.includes(n));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
    return 2;
  }

  const all: BenchResult[] = [];
  const failed: string[] = [];
  for (const name of names) {
    const startedAt = new Date();
    console.log(`== ${name}${opts.quick ? ' (quick)' : ''}`);
    try {
      const mod = require(path.join(BENCH_DIR, name)) as Partial<BenchModule>;
      if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export run(opts)`);
      const results = await mod.run({ quick: opts.quick });
      results.forEach((r) => checkResult(name, r));
      const file = saveResults(opts.out, name, opts.quick, startedAt, results);
      all.push(...results);
      console.log(`   ${results.length} results in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)} s -> ${path.relative(process.cwd(), file)}`);
    } catch (err) {
      failed.push(name);
      console.error(`   ${name} failed: ${(err as Error).stack ?? err}`);
    }
  }
  if (all.length) console.log(`\n${formatTable(all)}`);
  if (failed.length) console.error(`\nfailed: ${failed.join(', ')}`);
  return failed.length ? 1 : 0;
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
