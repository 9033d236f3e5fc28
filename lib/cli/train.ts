/**
 * `npm run train -- [flags]`: the whole pipeline for scripted use. One flag per experiment parameter
 * (lib/experiment/parameters.ts: `headEpochs` is `--head-epochs`), plus `--out`, `--progress` and `--small`.
 * Values come, lowest first, from the defaults, the small preset (`--small` or `RPS_SMALL=1`), the environment
 * (`RPS_<NAME>`) and the flags. Exits non-zero with a message on a bad flag or value, or a failed run.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runPipeline, RUN_DEFAULTS, type RunOptions } from '../experiment/pipeline';
import {
  parameterFlagName,
  parametersFromEnv,
  parseParameter,
  PARAMETER_NAMES,
  PARAMETERS,
  resolveParameters,
  SMALL_ENV,
  smallPresetLayer,
  type ParameterName,
  type ResolvedParameters,
} from '../experiment/parameters';
import { PROGRESS_MODES, type ProgressMode } from '../train/progress';
import { shutdownWorkerPools } from '../engine/pool';
import { installInterruptHandler } from '../util/interrupt';

function defaultText(name: ParameterName): string {
  const spec = PARAMETERS[name];
  return spec.default === undefined ? (spec.defaultText ?? 'see docs') : String(spec.default);
}

/** A commander value parser that checks a flag's value against its parameter's definition. */
function parser(name: ParameterName, flag: string) {
  return (raw: string) => {
    try {
      return parseParameter(name, raw, flag);
    } catch (err) {
      // commander already names the option and the value.
      throw new InvalidArgumentError((err as Error).message.replace(`${flag}: `, ''));
    }
  };
}

/** Commander attribute names of the older flag names (kept as aliases, hidden from --help). */
const aliasAttribute = (alias: string) => `alias:${alias}`;

/** The commander program: one flag per parameter (`--x`/`--no-x` for booleans), aliases hidden. Exported for tests. */
export function buildCli(): Command {
  const program = new Command('train')
    .description(
      'Transfer learning on rock_paper_scissors: train a head on a frozen pretrained base, fine-tune its top blocks, evaluate, save.\n' +
        'Every flag is also an environment variable: --head-epochs 3 is RPS_HEAD_EPOCHS=3 (flags win).',
    )
    .showHelpAfterError('(run with --help for all flags)')
    .allowExcessArguments(false);
  for (const name of PARAMETER_NAMES) {
    const spec = PARAMETERS[name];
    const flag = `--${parameterFlagName(name)}`;
    const help = `${spec.help} (default ${defaultText(name)})`;
    if (spec.kind === 'boolean') {
      program.addOption(new Option(flag, help).default(undefined));
      program.addOption(new Option(`--no-${parameterFlagName(name)}`, `turn ${flag.slice(2)} off`).default(undefined));
    } else {
      const option = new Option(`${flag} <${spec.value ?? 'value'}>`, help).argParser(parser(name, flag));
      program.addOption(spec.choices ? option.choices(spec.choices as string[]) : option);
    }
    for (const alias of spec.flagAliases ?? []) {
      const option = new Option(`--${alias} <${spec.value ?? 'value'}>`, `older name of ${flag}`).argParser(parser(name, `--${alias}`)).hideHelp();
      option.attributeName = () => aliasAttribute(alias);
      program.addOption(spec.choices ? option.choices(spec.choices as string[]) : option);
    }
  }
  program
    .option('--out <dir>', `output folder for the model, metrics.json and options.json (default ${RUN_DEFAULTS.out})`)
    .addOption(new Option('--progress <mode>', `progress display (default ${RUN_DEFAULTS.progress})`).choices(PROGRESS_MODES as unknown as string[]))
    .option('--lr-finder', "run the learning-rate finder for the head first: print its suggestion, keep it in metrics.json (training still uses --head-learning-rate)")
    .option('--small', `the small preset (as ${SMALL_ENV}=1): few rendered images, small input, few epochs`);
  return program;
}

/** The flags' values by parameter name (aliases mapped onto their parameter; both given: an error). */
function flagValues(opts: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of PARAMETER_NAMES) {
    const given = [[`--${parameterFlagName(name)}`, opts[name]] as const, ...(PARAMETERS[name].flagAliases ?? []).map((a) => [`--${a}`, opts[aliasAttribute(a)]] as const)].filter(
      ([, v]) => v !== undefined,
    );
    if (given.length > 1) throw new Error(`${given.map(([f]) => f).join(' and ')} set the same parameter (${name}); give one`);
    if (given.length) values[name] = given[0][1];
  }
  return values;
}

/** What a command line asks for: the resolved parameters (with where each came from) and the run options. */
export interface CliRequest {
  parameters: ResolvedParameters;
  run: RunOptions;
}

/** Parses argv (without node and the script) over the environment; throws a commander error or a parameter error. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliRequest {
  const program = buildCli().exitOverride();
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  program.parse(argv, { from: 'user' });
  const opts = program.opts();
  const small = opts.small ? { ...env, [SMALL_ENV]: '1' } : env;
  const flags = flagValues(opts);
  const origins = Object.fromEntries(Object.keys(flags).map((k) => [k, `--${parameterFlagName(k)}`]));
  const parameters = resolveParameters([smallPresetLayer(small), parametersFromEnv(env), { from: 'flag', values: flags, origins }]);
  return { parameters, run: { out: opts.out as string | undefined, progress: opts.progress as ProgressMode | undefined, ...(opts.lrFinder ? { lrFinder: true } : {}) } };
}

async function main(): Promise<void> {
  // Ctrl-C removes what is unfinished (a render, a download's temp folder) and says what was kept.
  installInterruptHandler();
  let request: CliRequest;
  try {
    request = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') {
      process.stdout.write(buildCli().helpInformation());
      return;
    }
    console.error(e.code?.startsWith('commander.') ? e.message : `train: ${e.message}`);
    if (e.code?.startsWith('commander.')) console.error('(run with --help for all flags)');
    process.exitCode = 1;
    return;
  }
  try {
    await runPipeline({ ...request.parameters.values, ...request.run }, request.parameters.from);
  } catch (err) {
    console.error(`train: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await shutdownWorkerPools();
  }
}

if (require.main === module) void main();
