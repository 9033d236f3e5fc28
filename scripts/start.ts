/**
 * `npm start`: runs the notebooks top to bottom with Node alone (tslab's compiler and executor, no
 * Jupyter) and writes reports/: executed .ipynb files, one self-contained HTML report per notebook and
 * index.html. Exits non-zero naming the notebook, the cell and the error when a cell fails.
 *
 *   npm start                         all notebooks, parameters as written in their parameters cells
 *   npm start -- 03 04                only these (03 needs 01/02's caches, 04 needs 03's saved model)
 *   npm start -- --small              the small preset (RPS_SMALL=1): few images, few epochs
 *   npm start -- --set headEpochs=3   a parameter override (same as RPS_HEAD_EPOCHS=3), checked before anything runs
 *   npm start -- --echo               also show the cells' output live (training progress)
 */
import { Command } from 'commander';
import * as path from 'node:path';
import { NotebookRunError, resolveNotebooks, runNotebooks } from '../lib/report/runner';
import { checkParameterOverrides } from '../lib/report/params_cell';
import { parametersFromEnv } from '../lib/experiment/parameters';
import { installInterruptHandler } from '../lib/util/interrupt';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function main(): Promise<void> {
  installInterruptHandler();
  const program = new Command()
    .name('npm start --')
    .description('Execute the notebooks headless (Node only) and render HTML reports into reports/.')
    .argument('[notebooks...]', 'notebook names or paths (default: all of notebooks/*.ipynb, in order)')
    .option('-o, --out <dir>', 'output folder', 'reports')
    .option('--small', 'small settings (RPS_SMALL=1): fewer images and epochs, for a quick check', false)
    .option('--set <name=value>', 'override a parameter of the parameters cell (repeatable)', collect, [] as string[])
    .option('--echo', "echo the cells' output live (e.g. training progress)", false)
    .option('--cell-timeout <seconds>', 'fail a cell that runs longer than this (0 = no limit)', '0')
    .parse(process.argv);
  const opts = program.opts<{ out: string; small: boolean; set: string[]; cellTimeout: string; echo: boolean }>();

  const notebooks = resolveNotebooks(program.args);
  // Every override is checked here, before any notebook runs.
  const env: Record<string, string> = checkParameterOverrides(opts.set, notebooks);
  if (opts.small) env.RPS_SMALL = '1';
  parametersFromEnv({ ...process.env, ...env });
  const timeout = Number(opts.cellTimeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw new Error(`--cell-timeout: expected seconds >= 0, got '${opts.cellTimeout}'`);

  const started = Date.now();
  const results = await runNotebooks({
    notebooks,
    outDir: path.resolve(opts.out),
    env,
    cellTimeoutMs: timeout * 1000,
    echo: opts.echo,
  });
  const index = path.join(path.relative(process.cwd(), path.resolve(opts.out)) || '.', 'index.html');
  console.log(`${results.length} notebook(s) in ${((Date.now() - started) / 1000).toFixed(1)} s; open ${index}`);
}

// The kernels run in child processes; anything escaping here is a bug in the runner itself.
process.on('unhandledRejection', (reason) => {
  console.error('npm start: unhandled rejection:', reason);
  process.exit(1);
});

main().catch((err: unknown) => {
  // A failing notebook or a bad option has a message that says it all; the stack would only hide it.
  if (err instanceof NotebookRunError) console.error(`\nnpm start: ${err.message}`);
  else console.error(`npm start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
