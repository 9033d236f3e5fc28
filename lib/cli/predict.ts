/**
 * `npm run predict -- --model DIR FILE_OR_FOLDER...`: classifies images with a saved classifier and prints, for
 * each, the label and every class's probability (a table, or JSON with `--json`). Folders are walked. A file
 * that cannot be classified is reported by name on stderr and skipped; the exit code is 1 when no image could
 * be classified.
 */
import { Command } from 'commander';
import { initEngine, type EngineChoice } from '../engine/engine';
import { classifyImageFiles } from '../model/classify';
import { predictImage } from '../model/predict';
import { DEFAULT_TTA } from '../data/tta';
import { parseParameter } from '../experiment/parameters';
import { tableText } from '../report/display';
import { PROCESS_IO, engineOption, loadModelArg, runCli, type CliIo } from './model-cli';

export function buildPredictCli(): Command {
  return new Command('predict')
    .description('Classify images with a saved classifier: the label and every class probability per image.')
    .argument('<paths...>', 'image files (PNG, JPEG) or folders of them (walked recursively)')
    .requiredOption('--model <dir>', 'the classifier folder (npm run train: <out>/model; notebooks: <cacheDir>/runs/<key>)')
    .option('--json', 'print JSON for scripts instead of a table')
    .option('--tta <n>', `test-time augmentation views averaged per image (default ${DEFAULT_TTA}; 1: the image alone)`, (v) => parseParameter('tta', v, '--tta'))
    .addOption(engineOption())
    .showHelpAfterError('(run with --help for all flags)');
}

/** Runs the command on `argv` (without node and the script); returns the exit code. */
export async function predictMain(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runCli(buildPredictCli(), argv, io, async (opts, paths) => {
    await initEngine({ engine: opts.engine as EngineChoice | undefined, quiet: true });
    const { dir, classifier } = await loadModelArg(opts.model as string);
    try {
      const { classes } = classifier.metadata;
      const { predictions, skipped } = await classifyImageFiles(paths, (file) => predictImage(classifier, file, { tta: opts.tta as number | undefined }));
      for (const s of skipped) io.err(`skipped ${s.file}: ${s.reason}`);
      if (opts.json) {
        io.out(JSON.stringify({ model: dir, classes, predictions, skipped }, null, 2));
      } else if (predictions.length) {
        const rows = predictions.map((p) => ({ file: p.file, label: p.label, ...p.probabilities }));
        io.out(tableText(rows, { columns: ['file', 'label', ...classes] }));
      }
      if (!predictions.length) {
        io.err(`predict: no image could be classified (${skipped.length} file(s) skipped)`);
        return 1;
      }
      return 0;
    } finally {
      classifier.model.dispose();
    }
  });
}

if (require.main === module) void predictMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
