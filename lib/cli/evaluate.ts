/**
 * `npm run evaluate -- --model DIR --data FOLDER`: a saved classifier's accuracy, per-class precision, recall
 * and F1 and confusion matrix on a `<class>/<image>` folder (or a folder holding `rps-test-set/`). Writes
 * `<out>/evaluation.json`, and with `--report` a self-contained `<out>/evaluation.html` (confusion matrix, most
 * confident mistakes). Class folders are matched to the classifier's classes by name.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { DEFAULT_TTA } from '../data/tta';
import { parseParameter } from '../experiment/parameters';
import { initEngine, type EngineChoice } from '../engine/engine';
import { evaluateClassifierOnFolder } from '../evaluate/folder';
import { misclassifiedImages } from '../evaluate/mistakes';
import { gradCamBatch, pixelSetImages } from '../evaluate/gradcam';
import { formatConfusion, formatEvaluation } from '../evaluate/metrics';
import { evaluationPageHtml } from '../report/evaluation_page';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { PROCESS_IO, engineOption, loadModelArg, runCli, type CliIo } from './model-cli';

/** Mistakes the HTML report explains with Grad-CAM. */
const GRADCAM_MISTAKES = 6;

/** Where evaluation.json (and evaluation.html) go unless `--out` says otherwise. */
export const EVALUATE_OUT_DIR = path.join('runs', 'evaluation');

export function buildEvaluateCli(): Command {
  return new Command('evaluate')
    .description('Evaluate a saved classifier on a labelled folder: accuracy, per-class precision/recall/F1, confusion matrix.')
    .requiredOption('--model <dir>', 'the classifier folder (npm run train: <out>/model; notebooks: <cacheDir>/runs/<key>)')
    .requiredOption('--data <folder>', 'a folder of <class>/<image>, or one holding rps-test-set/')
    .option('--out <dir>', `where evaluation.json and evaluation.html go (default ${EVALUATE_OUT_DIR})`)
    .option('--report', 'also write a self-contained HTML report (evaluation.html)')
    .option('--tta <n>', `test-time augmentation views averaged per image (default ${DEFAULT_TTA}; 1: the image alone)`, (v) => parseParameter('tta', v, '--tta'))
    .option('--cache-dir <dir>', 'cache root for the decoded images (default env RPS_CACHE_DIR, else data/)')
    .addOption(engineOption())
    .allowExcessArguments(false)
    .showHelpAfterError('(run with --help for all flags)');
}

/** Runs the command on `argv` (without node and the script); returns the exit code. */
export async function evaluateMain(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runCli(buildEvaluateCli(), argv, io, async (opts) => {
    await initEngine({ engine: opts.engine as EngineChoice | undefined, quiet: true });
    const { dir, classifier } = await loadModelArg(opts.model as string);
    try {
      const ev = await evaluateClassifierOnFolder(classifier, opts.data as string, { cacheDir: opts.cacheDir as string | undefined, quiet: true, tta: opts.tta as number | undefined });
      const { report } = ev;
      for (const s of ev.skipped) io.err(`skipped ${s.file}: ${s.reason}`);
      io.out(`${report.count} images in ${ev.folder}, classifier ${dir}`);
      io.out(formatEvaluation(report));
      io.out(`confusion matrix (rows: true class, columns: predicted)\n${formatConfusion(report)}`);
      const out = path.resolve((opts.out as string | undefined) ?? EVALUATE_OUT_DIR);
      const json = path.join(out, 'evaluation.json');
      writeJsonAtomic(json, { model: dir, metadata: classifier.metadata, data: ev.folder, evaluatedAt: new Date().toISOString(), ...report, files: ev.pixels.files, skipped: ev.skipped });
      io.out(`wrote ${json}`);
      if (opts.report) {
        const html = path.join(out, 'evaluation.html');
        const gallery = misclassifiedImages(report, ev.pixels);
        const gradCam = await gradCamBatch(classifier, pixelSetImages(ev.pixels, gallery.slice(0, GRADCAM_MISTAKES).map((g) => g.example.index)));
        writeFileAtomic(html, evaluationPageHtml({ report, gallery, gradCam, model: dir, data: ev.folder, skipped: ev.skipped }));
        io.out(`wrote ${html}`);
      }
      return 0;
    } finally {
      classifier.model.dispose();
    }
  });
}

if (require.main === module) void evaluateMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
