/**
 * Run records: every phase that runs on an experiment's session (a notebook cell, `npm run train`) leaves one small
 * JSON file, `<runDir>/records/<run id>.json`, next to the run folder's saved phases (lib/experiment/runs.ts). It
 * holds every parameter, the options the phase actually ran with (a learning rate overridden in a cell included),
 * the history, the test metrics once the session is evaluated, timings, the engine and the experiment's identity
 * (the content keys of the data and the base). Re-running a cell adds a record; none is ever replaced, so runs can
 * be compared (lib/report/figures/runs.ts, `npm run compare`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EngineName } from '../engine/engine';
import type { EvaluationReport } from '../evaluate/metrics';
import type { PhaseResult, UsedPhaseOptions } from '../train/phases';
import { weightsFingerprint, type TrainingSession } from '../train/session';
import type { StopReason, TrainingHistory, TrainingPhase } from '../train/types';
import { writeJsonAtomic } from '../util/atomic';
import { stableStringify } from '../util/hash';
import { PARAMETER_NAMES, PARAMETERS, type ExperimentParameters, type ParameterName } from './parameters';
import { phaseParameters } from './phase-options';
import type { Experiment } from './prepare';
import { experimentKey, RUN_FORMAT, type ExperimentIdentity } from './runs';

/** Bumped when the fields of a run record change. */
export const RECORD_FORMAT = 'run-record-v1';

/** The prefix every version of the record format shares (how a record of another version is told from other JSON). */
const FORMAT_PREFIX = 'run-record-';

/** The test evaluation of a run. */
export interface RunMetrics {
  accuracy: number;
  loss: number;
  macroF1: number;
  /** Test images. */
  count: number;
}

/** One phase run. Numbers that were not finite (a diverged loss) are written as null. */
export interface RunRecord {
  format: string;
  /** Unique and time-ordered: sorting ids sorts runs by when they ended. */
  id: string;
  /** When the phase ended (ISO 8601, UTC). */
  createdAt: string;
  phase: TrainingPhase;
  /** The experiment: its identity (data and base by content, identity parameters) and that identity's key (its run folder's name). */
  experiment: { key: string; identity: ExperimentIdentity };
  /** Every parameter of the experiment the phase ran in. */
  parameters: ExperimentParameters;
  /** The options the phase ran with, defaults filled in (they may differ from `parameters`: a cell can override them). */
  options: UsedPhaseOptions;
  /** The learning rate the session's head was trained with (for fine-tuning: the head it started from). */
  headLearningRate?: number;
  /** The session's history after the phase: a fine-tuning run also holds the head epochs it started from. */
  history: TrainingHistory;
  result: {
    stopReason: StopReason;
    /** Epochs this phase ran. */
    epochs: number;
    restoredEpoch?: number;
    message?: string;
    /** Layer whose activations were cached. */
    cut: string;
    fromBlock?: string;
  };
  /** The test evaluation of the classifier as the phase left it; null until the session was evaluated. */
  metrics: RunMetrics | null;
  /** Seconds spent on activations (0 when cached) and on training. */
  timings: { featureSeconds: number; trainSeconds: number };
  engine: { engine: EngineName; tfBackend: string; details: string };
  /** Fingerprint of the classifier's weights when the phase ended. */
  weights: string;
}

/** Which runs to list. */
export interface RunQuery {
  /** Only runs of this phase. Default: both. */
  phase?: TrainingPhase;
  /** Only the most recent this many. Default: all. */
  limit?: number;
}

/** What a record needs from its experiment. */
type RecordContext = Pick<Experiment, 'parameters' | 'engine' | 'identity' | 'runDir'>;

/** The experiment each session's phases are recorded under (the latest `prepareExperiment` that returned it). */
const contexts = new WeakMap<TrainingSession, RecordContext>();
/** Each session's latest record, with its file, until the classifier changes. */
const latest = new WeakMap<TrainingSession, { record: RunRecord; file: string }>();
/** The records made in this process (a notebook kernel), oldest first. */
const made: RunRecord[] = [];
/** The record of each phase result. */
const ofResult = new WeakMap<PhaseResult, RunRecord>();

/** The folder of an experiment's run records. */
export function recordsDir(runDir: string): string {
  return path.join(runDir, 'records');
}

let lastStamp = 0;

/** A unique, time-ordered run id: `YYYYMMDD-HHMMSS-mmm-<random>` (UTC; strictly increasing within a process). */
export function newRunId(now: number = Date.now()): string {
  const ms = Math.max(now, lastStamp + 1);
  lastStamp = ms;
  const iso = new Date(ms).toISOString(); // 2026-12-01T10:15:30.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Writes `record` atomically as `<dir>/<id>.json`; returns the file. */
export function writeRunRecord(dir: string, record: RunRecord): string {
  const file = path.join(dir, `${record.id}.json`);
  writeJsonAtomic(file, record);
  return file;
}

/** Makes the experiment's session record its phases under `exp` (called by `prepareExperiment`). */
export function bindRunRecords(exp: RecordContext & { session: TrainingSession }): void {
  contexts.set(exp.session, { parameters: exp.parameters, engine: exp.engine, identity: exp.identity, runDir: exp.runDir });
}

/** JSON as written: undefined fields dropped, non-finite numbers null; so the record in memory equals the file. */
function asWritten<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Records a phase that just ended on `session` (its `onPhaseEnd` hook, set by `prepareExperiment`): writes the
 * record and keeps it in this process's list. Returns it; undefined for a session `prepareExperiment` did not make.
 */
export async function recordPhase(session: TrainingSession, result: PhaseResult): Promise<RunRecord | undefined> {
  const ctx = contexts.get(session);
  if (!ctx) return undefined;
  const now = Date.now();
  const { engine, tfBackend, details } = ctx.engine;
  const record: RunRecord = asWritten({
    format: RECORD_FORMAT,
    id: newRunId(now),
    createdAt: new Date(now).toISOString(),
    phase: result.phase,
    experiment: { key: experimentKey(ctx.identity), identity: ctx.identity },
    parameters: ctx.parameters,
    options: result.options,
    headLearningRate: session.headLearningRate,
    history: session.history,
    result: {
      stopReason: result.stopReason,
      epochs: result.records.length,
      restoredEpoch: result.restoredEpoch,
      message: result.message,
      cut: result.cut,
      fromBlock: result.fromBlock,
    },
    metrics: null,
    timings: { featureSeconds: result.featureSeconds, trainSeconds: result.trainSeconds },
    engine: { engine, tfBackend, details },
    weights: await weightsFingerprint(session.classifier),
  });
  const file = writeRunRecord(recordsDir(ctx.runDir), record);
  made.push(record);
  latest.set(session, { record, file });
  ofResult.set(result, record);
  return record;
}

/** The record of a phase's result (what `trainHead` or `fineTune` returned), with its metrics once evaluated. */
export function recordOf(result: PhaseResult): RunRecord | undefined {
  return ofResult.get(result);
}

/**
 * Adds a test evaluation to the record of the session's last phase, when the classifier is still as that phase
 * left it (same weights); otherwise does nothing. Called by `evaluateSession`. Returns the updated record.
 */
export async function recordEvaluation(session: TrainingSession, report: EvaluationReport): Promise<RunRecord | undefined> {
  const last = latest.get(session);
  if (!last || (await weightsFingerprint(session.classifier)) !== last.record.weights) return undefined;
  last.record.metrics = asWritten({ accuracy: report.accuracy, loss: report.loss, macroF1: report.macroF1, count: report.count });
  writeRunRecord(path.dirname(last.file), last.record);
  return last.record;
}

function query(records: RunRecord[], q: RunQuery): RunRecord[] {
  const picked = records.filter((r) => q.phase === undefined || r.phase === q.phase).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (q.limit === undefined) return picked;
  if (!(Number.isInteger(q.limit) && q.limit >= 1)) throw new Error(`limit: expected an integer >= 1, got ${q.limit}`);
  return picked.slice(-q.limit);
}

/** The runs recorded in this process (a notebook kernel), oldest first; given an experiment, only its runs. */
export function recentRuns(exp?: Pick<Experiment, 'identity'>, q: RunQuery = {}): RunRecord[] {
  const key = exp ? experimentKey(exp.identity) : undefined;
  return query(
    made.filter((r) => key === undefined || r.experiment.key === key),
    q,
  );
}

/** The record files of a folder (`*.json`; temporary files of interrupted writes are skipped), sorted. */
function recordFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}

/**
 * Every run of the experiment on disk (from any kernel or CLI run with the same cache), oldest first. Records of
 * another format version are skipped; an unreadable one throws naming it.
 */
export function listRuns(exp: Pick<Experiment, 'runDir'>, q: RunQuery = {}): RunRecord[] {
  const dir = recordsDir(exp.runDir);
  if (!fs.existsSync(dir)) return [];
  const records = recordFiles(dir)
    .map(parseRecordFile)
    .filter((r) => r.format === RECORD_FORMAT)
    .map((r) => checkRecord(r, r.file));
  return query(records, q);
}

/** A JSON file that claims to be a run record of some version; throws naming the file when it is not. */
function parseRecordFile(file: string): RunRecord & { file: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not a run record (not JSON: ${(err as Error).message})`);
  }
  const format = value && typeof value === 'object' ? (value as { format?: unknown }).format : undefined;
  if (format === RUN_FORMAT) {
    throw new Error(`${file}: a saved phase (the notebooks' hand-off record), not a run record; the run records are in ${path.join(path.dirname(path.dirname(file)), 'records')}`);
  }
  if (typeof format !== 'string' || !format.startsWith(FORMAT_PREFIX)) {
    throw new Error(`${file}: not a run record (expected a JSON object with format '${RECORD_FORMAT}')`);
  }
  return { ...(value as RunRecord), file };
}

/** Checks the fields this version reads; throws naming the file and the field. Returns the record without `file`. */
function checkRecord(r: RunRecord & { file?: string }, file: string): RunRecord {
  const { file: _file, ...record } = r;
  if (record.format !== RECORD_FORMAT) throw new Error(`${file}: a run record of format '${record.format}'; this version reads '${RECORD_FORMAT}'`);
  const fields: [keyof RunRecord, boolean][] = [
    ['id', typeof record.id === 'string'],
    ['phase', record.phase === 'head' || record.phase === 'fine-tune'],
    ['parameters', !!record.parameters && typeof record.parameters === 'object'],
    ['options', !!record.options && typeof record.options === 'object'],
    ['history', !!record.history && Array.isArray(record.history.records)],
    ['experiment', !!record.experiment && typeof record.experiment.key === 'string'],
  ];
  const bad = fields.filter(([, ok]) => !ok).map(([k]) => k);
  if (bad.length) throw new Error(`${file}: not a valid run record (missing or malformed: ${bad.join(', ')})`);
  return record;
}

/** Reads one run record; throws naming the file when it is missing, not JSON, not a record, or of another format. */
export function readRunRecord(file: string): RunRecord {
  return checkRecord(parseRecordFile(file), file);
}

/**
 * Reads run records from files and folders (a folder: its `records/` subfolder when it has one, as a run folder
 * or `npm run train`'s `--out` does, else its `*.json` files), oldest first, each run once, with the file each
 * was read from. Throws naming the input that is missing, holds no records or is not a record, and naming the
 * files when the records are of different formats.
 */
export function readRunRecords(inputs: readonly string[]): { records: RunRecord[]; files: string[] } {
  if (!inputs.length) throw new Error('no run records given: name record files or folders of them');
  const files: string[] = [];
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new Error(`${input}: no such file or folder`);
    if (!fs.statSync(input).isDirectory()) {
      files.push(input);
      continue;
    }
    const sub = recordsDir(input);
    const dir = fs.existsSync(sub) && fs.statSync(sub).isDirectory() ? sub : input;
    const found = recordFiles(dir);
    if (!found.length) throw new Error(`${input}: no run records (*.json) in ${dir}`);
    files.push(...found);
  }
  const parsed = files.map(parseRecordFile);
  const formats = [...new Set(parsed.map((r) => r.format))];
  if (formats.length > 1) {
    const byFormat = formats.map((f) => `${f}: ${parsed.filter((r) => r.format === f).map((r) => r.file).join(', ')}`);
    throw new Error(`run records of different formats (${byFormat.join('; ')}); compare records of one format`);
  }
  const byId = new Map<string, { record: RunRecord; file: string }>();
  for (const r of parsed) if (!byId.has(r.id)) byId.set(r.id, { record: checkRecord(r, r.file), file: r.file });
  const records = query([...byId.values()].map((e) => e.record), {});
  return { records, files: records.map((r) => (byId.get(r.id) as { file: string }).file) };
}

/** Copies records into `<dir>/` (one file each, atomically); returns the files. */
export function copyRunRecords(records: readonly RunRecord[], dir: string): string[] {
  return records.map((r) => writeRunRecord(dir, r));
}

/** False for the parameters of a phase the run did not include (fine-tuning's, for a head run). */
function applies(phase: TrainingPhase, name: ParameterName): boolean {
  return phase !== 'head' || PARAMETERS[name].group !== 'fineTune';
}

/**
 * The parameters a run effectively ran with: its experiment's parameters, with the phase's options over the
 * parameters they stand for, the engine and base that actually ran (not 'auto') and, for fine-tuning, the head's
 * learning rate. Parameters of a phase the run did not include (fine-tuning's, for a head run) are left out.
 */
export function effectiveParameters(record: RunRecord): Partial<ExperimentParameters> {
  const all: Partial<ExperimentParameters> = { ...record.parameters, engine: record.engine.engine, base: record.experiment.identity.base };
  if (record.headLearningRate !== undefined) all.headLearningRate = record.headLearningRate;
  Object.assign(all, phaseParameters(record.phase, record.options));
  return Object.fromEntries(PARAMETER_NAMES.filter((k) => applies(record.phase, k)).map((k) => [k, all[k]])) as Partial<ExperimentParameters>;
}

/**
 * The parameters whose effective values differ between the runs, in the parameters table's order. A parameter
 * counts where it applies: fine-tuning's parameters do not differ between a head run and one fine-tuning run.
 */
export function differingParameters(records: readonly RunRecord[]): ParameterName[] {
  const effective = records.map((r) => ({ phase: r.phase, values: effectiveParameters(r) }));
  return PARAMETER_NAMES.filter((k) => new Set(effective.filter((e) => applies(e.phase, k)).map((e) => stableStringify(e.values[k]))).size > 1);
}
