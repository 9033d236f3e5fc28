/**
 * How the notebooks hand results on: each training notebook saves its classifier and history into a run
 * folder keyed by the content of the training data, the base and the seed; the next notebook (in a fresh
 * kernel) computes the same key from its own parameters and loads them. No hidden global state: a
 * notebook either finds the saved result of the same experiment or says which notebook to run first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { writeJsonAtomic } from '../util/atomic';
import { cacheKey } from '../util/hash';
import { defaultDataCacheDir } from '../data/cache-dir';
import { loadClassifier, saveClassifier, type Classifier } from '../model/persist';
import type { LoadedBase } from '../model/types';
import type { TrainingSession } from '../train/session';
import type { TrainingHistory } from '../train/types';

/** Bumped when the layout of a run folder changes. */
const RUN_FORMAT = 'run-v1';

/** What identifies an experiment: the training data (content key), the base and the seed. */
export interface ExperimentIdentity {
  /** Content key of the training pixels (`PixelSet.key`). */
  data: string;
  /** Base id (`LoadedBase.spec.id`). */
  base: string;
  seed: number;
}

/** The two saved stages of a run. */
export type SavedPhase = 'head' | 'fine-tune';

/** What a training notebook saves next to its classifier. */
export interface PhaseRecord {
  format: string;
  phase: SavedPhase;
  savedAt: string;
  experiment: ExperimentIdentity;
  /** Both phases' epochs so far (continuous numbering). */
  history: TrainingHistory;
  /** Learning rate of head training (fine-tuning's default is a tenth of it). */
  headLearningRate?: number;
  /** The notebook's parameters, for the record. */
  params: Record<string, unknown>;
  /** Any results worth quoting later, e.g. test accuracy. */
  results: Record<string, unknown>;
}

/** The run folder of an experiment: `<cacheDir>/runs/<key>` (cacheDir default: the data cache). */
export function experimentDir(id: ExperimentIdentity, cacheDir = defaultDataCacheDir()): string {
  return path.join(cacheDir, 'runs', cacheKey(RUN_FORMAT, id.data, id.base, id.seed));
}

const NOTEBOOK_OF: Record<SavedPhase, string> = { head: 'notebooks/03_transfer_learning.ipynb', 'fine-tune': 'notebooks/04_fine_tune.ipynb' };

/** Saves a trained classifier and its record into `<runDir>/<phase>/` (each file atomically). */
export async function savePhase(
  runDir: string,
  phase: SavedPhase,
  what: {
    classifier: tf.LayersModel;
    base: LoadedBase;
    classes: string[];
    experiment: ExperimentIdentity;
    history: TrainingHistory;
    headLearningRate?: number;
    params: Record<string, unknown>;
    results?: Record<string, unknown>;
  },
): Promise<string> {
  const dir = path.join(runDir, phase);
  fs.mkdirSync(dir, { recursive: true });
  await saveClassifier(what.classifier, phaseClassifierDir(runDir, phase), {
    classes: what.classes,
    inputSize: what.base.spec.inputSize,
    pixelRange: what.base.spec.pixelRange,
    base: what.base.spec.id,
  });
  const record: PhaseRecord = {
    format: RUN_FORMAT,
    phase,
    savedAt: new Date().toISOString(),
    experiment: what.experiment,
    history: what.history,
    headLearningRate: what.headLearningRate,
    params: what.params,
    results: what.results ?? {},
  };
  // The record is written last: a phase counts as saved only once its record exists.
  writeJsonAtomic(path.join(dir, 'record.json'), record);
  return dir;
}

/** The folder of a saved phase's classifier (loadable with `loadClassifier`). */
export function phaseClassifierDir(runDir: string, phase: SavedPhase): string {
  return path.join(runDir, phase, 'classifier');
}

/** Reads a phase's record; throws naming the notebook to run first when it is missing. */
export function readPhaseRecord(runDir: string, phase: SavedPhase): PhaseRecord {
  const file = path.join(runDir, phase, 'record.json');
  if (!fs.existsSync(file)) {
    throw new Error(
      `no saved ${phase} result for this experiment in ${runDir}: run ${NOTEBOOK_OF[phase]} first, with the same data source, ` +
        `data size, image size, base and seed`,
    );
  }
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as PhaseRecord;
  if (record.format !== RUN_FORMAT) throw new Error(`${file}: format ${record.format}, expected ${RUN_FORMAT}; re-run ${NOTEBOOK_OF[phase]}`);
  return record;
}

/** Loads a saved phase: its classifier (the caller owns `classifier.model`) and its record. */
export async function loadPhase(runDir: string, phase: SavedPhase): Promise<{ classifier: Classifier; record: PhaseRecord }> {
  const record = readPhaseRecord(runDir, phase);
  const classifier = await loadClassifier(phaseClassifierDir(runDir, phase));
  return { classifier, record };
}

/**
 * Makes a fresh session (built on the classifier loaded from the head phase) continue where head training
 * ended: its history, its learning rate, and its weights as the starting point of fine-tuning.
 */
export function resumeAfterHead(session: TrainingSession, record: PhaseRecord): void {
  if (record.phase !== 'head') throw new Error(`resumeAfterHead: expected the head phase's record, got '${record.phase}'`);
  session.history = { records: record.history.records.filter((r) => r.phase === 'head'), fineTuneStartEpoch: null };
  session.headLearningRate = record.headLearningRate;
  session.stage = { kind: 'head' };
  session.markHeadTrained();
}
