/**
 * What the command lines that use a trained classifier share (predict, evaluate, demo): the `--model` folder,
 * the `--engine` flag, and running a command in-process with its exit code and output streams (tests call it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ENGINE_NAMES, parseEngineChoice, type EngineChoice } from '../engine/engine';
import { loadClassifier, type Classifier } from '../model/persist';
import { phaseClassifierDir } from '../experiment/runs';

/** Where a command writes. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** stdout and stderr, a line per call. */
export const PROCESS_IO: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/**
 * The classifier folder that `dir` names: a folder written by `saveClassifier` (`npm run train`'s `<out>/model`,
 * a notebook's `<cacheDir>/runs/<key>/<phase>/classifier`), or a folder holding one: `npm run train`'s `<out>`,
 * a notebook phase folder, or a run folder (its fine-tuned classifier, else its head). Throws naming `dir`.
 */
export function resolveClassifierDir(dir: string): string {
  if (!fs.existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`--model expects a folder, got a file: ${dir}`);
  const candidates = [dir, path.join(dir, 'model'), path.join(dir, 'classifier'), phaseClassifierDir(dir, 'fine-tune'), phaseClassifierDir(dir, 'head')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'metadata.json')));
  if (!found) {
    throw new Error(
      `no saved classifier in ${dir}: expected metadata.json, model.json and weights.bin there, in its model/ ` +
        '(the --out folder of npm run train) or in its fine-tune/classifier or head/classifier (a notebook run folder)',
    );
  }
  return found;
}

/** Finds and loads the classifier `dir` names. The caller owns `classifier.model`. */
export async function loadModelArg(dir: string): Promise<{ dir: string; classifier: Classifier }> {
  const found = resolveClassifierDir(dir);
  try {
    return { dir: found, classifier: await loadClassifier(found) };
  } catch (err) {
    throw new Error(`cannot load the classifier in ${found}: ${(err as Error).message}`);
  }
}

/** `--engine <name>`; unset means `initEngine`'s default (env RPS_ENGINE, else auto). */
export function engineOption(): Option {
  return new Option('--engine <name>', `engine: auto | ${ENGINE_NAMES.join(' | ')} (default env RPS_ENGINE, else auto)`).argParser((v): EngineChoice => {
    try {
      return parseEngineChoice(v, '--engine');
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}

/**
 * Parses `argv` (without node and the script) with `program` and runs `action` on its options and arguments.
 * Returns the exit code: `action`'s, 1 with `<name>: <message>` when it throws, commander's on bad flags.
 */
export async function runCli(
  program: Command,
  argv: string[],
  io: CliIo,
  action: (opts: Record<string, unknown>, args: string[]) => Promise<number>,
): Promise<number> {
  program.exitOverride().configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  try {
    return await action(program.opts(), program.args);
  } catch (err) {
    io.err(`${program.name()}: ${(err as Error).message}`);
    return 1;
  }
}
