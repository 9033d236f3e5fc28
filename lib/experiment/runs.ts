/**
 * How the notebooks hand results on: each training notebook saves its classifier and a typed record into a run
 * folder keyed by the experiment's identity (the training and test data's content, the base, and every parameter
 * that shapes the data, the network or the session); the next notebook (in a fresh kernel) computes the same key
 * from its own parameters and loads them. No hidden global state: a notebook either finds the saved result of
 * the same experiment or says which notebook to run first, and which of its settings differ from the saved runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { writeJsonAtomic } from '../util/atomic';
import { cacheKey } from '../util/hash';
import { loadClassifier, saveClassifier, type Classifier } from '../model/persist';
import type { LoadedBase } from '../model/types';
import type { EvaluationReport } from '../evaluate/metrics';
import type { PhaseResult } from '../train/phases';
import type { StopReason, TrainingHistory } from '../train/types';
import type { ExperimentParameters } from './parameters';

/** Bumped when the layout of a run folder or its record changes. */
export const RUN_FORMAT = 'run-v2';

/** What identifies an experiment: the data by content, the resolved base, and the identity parameters. */
export interface ExperimentIdentity {
  /** Content keys of the training and test pixels (`PixelSet.key`). */
  train: string;
  test: string;
  /** The base that was loaded (`LoadedBase.spec.id`; `auto` resolved). */
  base: string;
  /** The parameters of the identity groups other than those the keys above already pin down. */
  parameters: Record<string, unknown>;
}

/** The two saved stages of a run. */
export type SavedPhase = 'head' | 'fine-tune';

/** The numbers a saved phase is quoted by. */
export interface PhaseResults {
  testAccuracy: number;
  testLoss: number;
  stopReason: StopReason;
  /** Epochs this phase ran. */
  epochs: number;
  /** Fine-tuning only: the first unfrozen block. */
  fromBlock?: string;
}

/** What a training notebook saves next to its classifier. */
export interface PhaseRecord {
  format: string;
  phase: SavedPhase;
  savedAt: string;
  identity: ExperimentIdentity;
  /** Every parameter of the notebook that saved it. */
  parameters: ExperimentParameters;
  /** Both phases' epochs so far (continuous numbering). */
  history: TrainingHistory;
  /** Learning rate of head training (fine-tuning's default derives from it). */
  headLearningRate: number;
  results: PhaseResults;
  /** Fine-tuning only: the results of the head it started from. */
  head?: PhaseResults;
}

/** The short content key of an experiment's identity (the name of its run folder). */
export function experimentKey(identity: ExperimentIdentity): string {
  return cacheKey(RUN_FORMAT, identity);
}

/** The run folder of an experiment: `<cacheDir>/runs/<key>`. */
export function experimentDir(identity: ExperimentIdentity, cacheDir: string): string {
  return path.join(cacheDir, 'runs', experimentKey(identity));
}

const NOTEBOOK_OF: Record<SavedPhase, string> = { head: 'notebooks/03_transfer_learning.ipynb', 'fine-tune': 'notebooks/04_fine_tune.ipynb' };

/** The folder of a saved phase's classifier (loadable with `loadClassifier`). */
export function phaseClassifierDir(runDir: string, phase: SavedPhase): string {
  return path.join(runDir, phase, 'classifier');
}

/** The numbers of a phase's result and its evaluation, as a record keeps them. */
export function phaseResults(result: PhaseResult, evaluation: EvaluationReport): PhaseResults {
  return {
    testAccuracy: evaluation.accuracy,
    testLoss: evaluation.loss,
    stopReason: result.stopReason,
    epochs: result.records.length,
    ...(result.fromBlock ? { fromBlock: result.fromBlock } : {}),
  };
}

/** What `savePhase` needs from an experiment. */
export interface SavableExperiment {
  runDir: string;
  identity: ExperimentIdentity;
  parameters: ExperimentParameters;
  base: LoadedBase;
  classes: string[];
  classifier: tf.LayersModel;
  history: TrainingHistory;
  headLearningRate: number | undefined;
}

/**
 * Saves the classifier and its record into `<runDir>/<phase>/` (each file atomically; the record last, so a phase
 * counts as saved only once its record exists). A fine-tuning record also keeps the results of the head it
 * started from (read from the saved head record). Returns the phase folder.
 */
export async function savePhase(exp: SavableExperiment, phase: SavedPhase, results: PhaseResults): Promise<string> {
  if (exp.headLearningRate === undefined) throw new Error(`savePhase(${phase}): the session has no trained head to save`);
  const head = phase === 'fine-tune' ? readPhaseRecord(exp.runDir, 'head').results : undefined;
  const dir = path.join(exp.runDir, phase);
  fs.mkdirSync(dir, { recursive: true });
  await saveClassifier(exp.classifier, phaseClassifierDir(exp.runDir, phase), {
    classes: exp.classes,
    inputSize: exp.base.spec.inputSize,
    pixelRange: exp.base.spec.pixelRange,
    base: exp.base.spec.id,
    fineTunedFrom: results.fromBlock ?? null,
    testAccuracy: results.testAccuracy,
  });
  const record: PhaseRecord = {
    format: RUN_FORMAT,
    phase,
    savedAt: new Date().toISOString(),
    identity: exp.identity,
    parameters: exp.parameters,
    history: exp.history,
    headLearningRate: exp.headLearningRate,
    results,
    ...(head ? { head } : {}),
  };
  writeJsonAtomic(path.join(dir, 'record.json'), record);
  return dir;
}

/**
 * Reads a phase's record; throws naming the notebook to run first when it is missing, and, given the experiment's
 * identity, how the saved runs of the same data and base differ from it.
 */
export function readPhaseRecord(runDir: string, phase: SavedPhase, identity?: ExperimentIdentity): PhaseRecord {
  const file = path.join(runDir, phase, 'record.json');
  if (!fs.existsSync(file)) {
    const variants = identity ? savedVariants(runDir, phase, identity) : '';
    throw new Error(`no saved ${phase} result for this experiment in ${runDir}: run ${NOTEBOOK_OF[phase]} first, with the same parameters${variants}`);
  }
  let record: PhaseRecord;
  try {
    record = JSON.parse(fs.readFileSync(file, 'utf8')) as PhaseRecord;
  } catch (err) {
    throw new Error(`${file}: not a readable run record (${(err as Error).message}); re-run ${NOTEBOOK_OF[phase]}`);
  }
  if (record.format !== RUN_FORMAT) throw new Error(`${file}: format ${record.format}, expected ${RUN_FORMAT}; re-run ${NOTEBOOK_OF[phase]}`);
  return record;
}

/** Loads a saved phase: its classifier (the caller owns `classifier.model`) and its record. */
export async function loadPhase(runDir: string, phase: SavedPhase, identity?: ExperimentIdentity): Promise<{ classifier: Classifier; record: PhaseRecord }> {
  const record = readPhaseRecord(runDir, phase, identity);
  const classifier = await loadClassifier(phaseClassifierDir(runDir, phase));
  return { classifier, record };
}

/**
 * For a missing run: the saved runs of the same data and base, and how their identity parameters differ from
 * this experiment's (which notebook setting to change to continue from one of them), as a sentence to append.
 */
function savedVariants(runDir: string, phase: SavedPhase, wanted: ExperimentIdentity): string {
  const root = path.dirname(runDir);
  if (!fs.existsSync(root)) return '';
  const diffs: string[] = [];
  for (const name of fs.readdirSync(root)) {
    const file = path.join(root, name, phase, 'record.json');
    if (name === path.basename(runDir) || !fs.existsSync(file)) continue;
    let other: PhaseRecord;
    try {
      other = JSON.parse(fs.readFileSync(file, 'utf8')) as PhaseRecord;
    } catch {
      continue;
    }
    if (other.format !== RUN_FORMAT || other.identity.train !== wanted.train || other.identity.base !== wanted.base) continue;
    const changed = Object.keys({ ...wanted.parameters, ...other.identity.parameters })
      .filter((k) => JSON.stringify(wanted.parameters[k]) !== JSON.stringify(other.identity.parameters[k]))
      .map((k) => `${k} ${JSON.stringify(other.identity.parameters[k])} there, ${JSON.stringify(wanted.parameters[k])} here`);
    if (changed.length) diffs.push(`a run saved ${other.savedAt} differs in ${changed.join('; ')}`);
  }
  return diffs.length ? `. Saved ${phase} runs of the same data and base: ${diffs.join(' | ')}` : '';
}
