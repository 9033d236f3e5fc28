/**
 * `npm run demo -- --model DIR`: serves a page on 127.0.0.1 that runs the saved classifier in the browser with
 * TensorFlow.js, on an image file or live camera frames. `--export OUT` writes the same page and the model as a
 * static folder instead, for any static web host.
 */
import { Command, InvalidArgumentError } from 'commander';
import { initEngine } from '../engine/engine';
import { demoAssets } from '../demo/assets';
import { exportDemo, serveDemo } from '../demo/server';
import { PROCESS_IO, loadModelArg, runCli, type CliIo } from './model-cli';

function portArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got '${value}'`);
  return n;
}

export function buildDemoCli(): Command {
  return new Command('demo')
    .description('Run the saved classifier in a browser page: an image file or the camera, probabilities as bars.')
    .requiredOption('--model <dir>', 'the classifier folder (npm run train: <out>/model; notebooks: <cacheDir>/runs/<key>)')
    .option('--port <n>', 'port on 127.0.0.1 (default 0: any free port; the URL is printed)', portArg)
    .option('--export <out>', 'write the page and the model as a static folder instead of serving them')
    .allowExcessArguments(false)
    .showHelpAfterError('(run with --help for all flags)');
}

/** Runs the command on `argv`; returns the exit code once the folder is written, or, when serving, after Ctrl+C. */
export async function demoMain(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runCli(buildDemoCli(), argv, io, async (opts) => {
    // Loading the classifier here checks it (a clear error for a broken folder); the browser loads it again.
    await initEngine({ engine: 'cpu', quiet: true });
    const { dir, classifier } = await loadModelArg(opts.model as string);
    classifier.model.dispose();
    const assets = await demoAssets(dir);
    if (opts.export) {
      await exportDemo(assets, opts.export as string);
      io.out(`wrote the demo for ${dir} to ${opts.export}: serve that folder with any static web server and open index.html`);
      return 0;
    }
    const server = await serveDemo(assets, opts.port as number | undefined);
    io.out(`demo of ${dir} at ${server.url} (Ctrl+C to stop)`);
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    await server.close();
    return 0;
  });
}

if (require.main === module) void demoMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
