/**
 * `npm run train -- [flags]`: the whole pipeline for scripted use. Every flag maps 1:1 onto a field of
 * `PipelineOptions` (lib/train/pipeline.ts); defaults are the pipeline's. Exits non-zero with a message on
 * bad flags or a failed run.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseEngineChoice } from '../engine/engine';
import { runPipeline, PIPELINE_DEFAULTS, type PipelineOptions } from '../train/pipeline';
import { parseLrSchedule } from '../train/schedule';
import { shutdownExtractionWorkers } from '../train/extract';

function intArg(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return n;
  };
}

function positiveArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

function fractionArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a number in [0, 1), got '${value}'`);
  return n;
}

function wrap<T>(parse: (v: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** The commander program; `parse` maps argv to `PipelineOptions`. Exported for tests. */
export function buildCli(): Command {
  const d = PIPELINE_DEFAULTS;
  const program = new Command('train')
    .description('Transfer learning on rock_paper_scissors: train a head on a frozen pretrained base, fine-tune its top blocks, evaluate, save.')
    .option('--epochs <n>', `head-training epochs (default ${d.epochs})`, intArg(1))
    .option('--fine-tune-epochs <n>', `fine-tuning epochs, 0 to skip (default ${d.fineTuneEpochs})`, intArg(0))
    .option('--fine-tune-from <block>', `first block to unfreeze, e.g. block_11, or a block index (default ${d.fineTuneFrom})`)
    .option('--lr <rate>', `head-training learning rate (default ${d.learningRate})`, positiveArg)
    .option('--fine-tune-lr <rate>', 'fine-tuning learning rate (default lr / 10)', positiveArg)
    .addOption(new Option('--optimizer <name>', `head optimizer (default ${d.optimizer})`).choices(['adam', 'rmsprop', 'sgd']))
    .addOption(new Option('--fine-tune-optimizer <name>', `fine-tuning optimizer (default ${d.fineTuneOptimizer})`).choices(['adam', 'rmsprop', 'sgd']))
    .option('--batch-size <n>', `images per step (default ${d.batchSize})`, intArg(1))
    .option('--validation-split <f>', `fraction of training images held out for validation (default ${d.validationSplit})`, fractionArg)
    .option('--patience <n>', `early-stopping patience in epochs, 0 = off (default ${d.patience})`, intArg(0))
    .option('--lr-schedule <spec>', 'constant | step[:every[:factor]] | cosine[:minFactor] (default constant)', wrap(parseLrSchedule))
    .option('--no-augment', 'turn data augmentation off (default on)')
    .option('--augment-views <n>', `cached augmented views per training image (default ${d.augmentViews})`, intArg(1))
    .option('--dropout <rate>', `dropout before the output layer (default ${d.dropout})`, fractionArg)
    .option('--hidden-units <n>', `hidden Dense units in the head, 0 = none (default ${d.hiddenUnits})`, intArg(0))
    .option('--base <id>', "base: auto | embedded | mobilenet_v2_<alpha> | mobilenet_v1_<alpha> | path or URL of a model.json (default auto)")
    .option('--data <source>', 'data: auto | tfds | rendered | path of a folder or zip with <class>/<image> (default auto)')
    .option('--render-train <n>', 'rendered data: training images (default 2520)', intArg(3))
    .option('--render-test <n>', 'rendered data: test images (default 372)', intArg(3))
    .option('--image-size <px>', `input size, a multiple of 32 (default ${d.imageSize})`, intArg(32))
    .option('--seed <n>', `seed for order, split, augmentation, initializers and dropout (default ${d.seed})`, intArg(0))
    .option('--backend <engine>', 'engine: auto | tensorflow-gpu | tensorflow | wasm | cpu (default env RPS_BACKEND, else auto)', wrap((v) => parseEngineChoice(v, '--backend')))
    .option('--workers <n>', 'worker threads for computing activations (default: the cores)', intArg(1))
    .option('--train-workers <n>', 'threads each training step is split across, gradients averaged; 1 = off (default: 2 on wasm and cpu, 1 on native engines; the number changes dropout masks)', intArg(1))
    .option('--cache-dir <dir>', 'cache root (default env RPS_CACHE_DIR, else data/)')
    .option('--out <dir>', `output folder for the model and metrics (default ${d.outDir})`)
    .addOption(new Option('--progress <mode>', 'progress display (default auto)').choices(['auto', 'terminal', 'lines', 'silent']))
    .showHelpAfterError('(run with --help for all flags)')
    .allowExcessArguments(false);
  return program;
}

/** Parses argv (without node and the script) into pipeline options; throws a commander error on bad flags. */
export function parseCliArgs(argv: string[]): PipelineOptions {
  const program = buildCli().exitOverride();
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  program.parse(argv, { from: 'user' });
  return cliOptionsToPipeline(program.opts());
}

/** Maps commander's option object onto `PipelineOptions` (1:1, renaming only where the flag is shorter). */
export function cliOptionsToPipeline(f: Record<string, unknown>): PipelineOptions {
  const render = f.renderTrain !== undefined || f.renderTest !== undefined ? { train: f.renderTrain as number | undefined, test: f.renderTest as number | undefined } : undefined;
  const from = f.fineTuneFrom as string | undefined;
  return {
    epochs: f.epochs as number | undefined,
    fineTuneEpochs: f.fineTuneEpochs as number | undefined,
    fineTuneFrom: from,
    learningRate: f.lr as number | undefined,
    fineTuneLearningRate: f.fineTuneLr as number | undefined,
    optimizer: f.optimizer as PipelineOptions['optimizer'],
    fineTuneOptimizer: f.fineTuneOptimizer as PipelineOptions['fineTuneOptimizer'],
    batchSize: f.batchSize as number | undefined,
    validationSplit: f.validationSplit as number | undefined,
    patience: f.patience as number | undefined,
    lrSchedule: f.lrSchedule as PipelineOptions['lrSchedule'],
    augment: f.augment === false ? false : undefined,
    augmentViews: f.augmentViews as number | undefined,
    dropout: f.dropout as number | undefined,
    hiddenUnits: f.hiddenUnits as number | undefined,
    base: f.base as string | undefined,
    data: f.data as string | undefined,
    render,
    imageSize: f.imageSize as number | undefined,
    seed: f.seed as number | undefined,
    engine: f.backend as PipelineOptions['engine'],
    workers: f.workers as number | undefined,
    trainWorkers: f.trainWorkers as number | undefined,
    cacheDir: f.cacheDir as string | undefined,
    outDir: f.out as string | undefined,
    progress: f.progress as PipelineOptions['progress'],
  };
}

async function main(): Promise<void> {
  const program = buildCli();
  program.parse(process.argv);
  const options = cliOptionsToPipeline(program.opts());
  try {
    await runPipeline(options);
  } catch (err) {
    console.error(`train: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await shutdownExtractionWorkers();
  }
}

if (require.main === module) void main();
