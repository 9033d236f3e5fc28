/**
 * `npm run compare -- RUN... [--out file.html]`: an HTML report comparing recorded runs (lib/experiment/records.ts):
 * their validation curves overlaid and a table of the parameters that differ and the results. A RUN is a record
 * file or a folder of them (a run folder `<cacheDir>/runs/<key>/`, `npm run train`'s `--out`, or a `records/`
 * folder). The page is self-contained (plotly inlined). Exits non-zero naming the input that is wrong.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { readRunRecords } from '../experiment/records';
import { runComparisonHtml } from '../report/compare';
import { writeFileAtomic } from '../util/atomic';

export const COMPARE_DEFAULTS = { out: path.join('runs', 'compare.html') } as const;

export interface CompareRequest {
  inputs: string[];
  out: string;
  title?: string;
}

/** The commander program (exported for tests). */
export function buildCompareCli(): Command {
  return new Command('compare')
    .description('Compare recorded runs: their validation curves overlaid, the parameters that differ and the results, in one HTML page.')
    .argument('<runs...>', 'run record files (<cacheDir>/runs/<key>/records/<id>.json) or folders of them')
    .option('--out <file>', `the HTML file to write (default ${COMPARE_DEFAULTS.out})`)
    .option('--title <text>', 'page title (default: Run comparison: N runs)')
    .showHelpAfterError('(run with --help for usage)')
    .allowExcessArguments(false);
}

/** Reads the records and writes the page; returns the file written and the number of runs. */
export function compareRuns(request: CompareRequest): { file: string; runs: number } {
  const { records, files } = readRunRecords(request.inputs);
  const file = path.resolve(request.out);
  writeFileAtomic(file, runComparisonHtml(records, { title: request.title, sources: files }));
  return { file, runs: records.length };
}

function main(): void {
  const program = buildCompareCli().exitOverride();
  let request: CompareRequest;
  try {
    program.parse(process.argv.slice(2), { from: 'user' });
    const opts = program.opts<{ out?: string; title?: string }>();
    request = { inputs: program.args, out: opts.out ?? COMPARE_DEFAULTS.out, title: opts.title };
  } catch (err) {
    const e = err as Error & { code?: string };
    // commander printed the help or its error already.
    if (e.code !== 'commander.helpDisplayed') process.exitCode = 1;
    return;
  }
  try {
    const { file, runs } = compareRuns(request);
    const shown = path.relative(process.cwd(), file);
    console.log(`compare: ${runs} run${runs === 1 ? '' : 's'} compared; wrote ${shown.startsWith('..') ? file : shown}`);
  } catch (err) {
    console.error(`compare: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
