/** Run records made by hand (no training), for the record, figure and compare tests. */
import { DEFAULT_PARAMETERS } from '../../lib/experiment/parameters';
import { newRunId, RECORD_FORMAT, type RunRecord } from '../../lib/experiment/records';
import type { EpochRecord, TrainingPhase } from '../../lib/train/types';

export interface FakeRun {
  phase?: TrainingPhase;
  headEpochs: number;
  fineTuneEpochs?: number;
  learningRate?: number;
  /** No validation split: the epochs have no val fields. */
  noValidation?: boolean;
  accuracy?: number;
  experimentKey?: string;
}

function epochs(phase: TrainingPhase, count: number, first: number, lr: number, noValidation: boolean): EpochRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    epoch: first + i,
    phase,
    loss: 1 / (first + i),
    accuracy: 0.5 + 0.04 * (first + i),
    ...(noValidation ? {} : { valLoss: 1.1 / (first + i), valAccuracy: 0.45 + 0.04 * (first + i) }),
    lr,
    seconds: 0.5,
  }));
}

/** A record as `recordPhase` writes it (JSON-clean: no undefined fields), with made-up numbers. */
export function fakeRun(o: FakeRun): RunRecord {
  const phase = o.phase ?? (o.fineTuneEpochs ? 'fine-tune' : 'head');
  const lr = o.learningRate ?? (phase === 'head' ? 1e-3 : 1e-4);
  const head = epochs('head', o.headEpochs, 1, phase === 'head' ? lr : 1e-3, !!o.noValidation);
  const ft = phase === 'fine-tune' ? epochs('fine-tune', o.fineTuneEpochs ?? 0, o.headEpochs + 1, lr, !!o.noValidation) : [];
  const id = newRunId();
  const record: RunRecord = {
    format: RECORD_FORMAT,
    id,
    createdAt: new Date().toISOString(),
    phase,
    experiment: { key: o.experimentKey ?? 'abcdef0123456789', identity: { train: 't', test: 's', base: 'embedded', parameters: { seed: 0 } } },
    parameters: { ...DEFAULT_PARAMETERS, engine: 'wasm', headEpochs: o.headEpochs, fineTuneEpochs: o.fineTuneEpochs ?? DEFAULT_PARAMETERS.fineTuneEpochs, fineTuneLearningRate: 1e-4 },
    options: {
      epochs: phase === 'head' ? o.headEpochs : (o.fineTuneEpochs ?? 0),
      learningRate: lr,
      batchSize: 32,
      optimizer: 'adam',
      earlyStopping: { patience: 3 },
      schedule: { kind: 'constant' },
      labelSmoothing: 0,
      path: 'cached',
      ...(phase === 'fine-tune' ? { from: 'block_11' } : {}),
    },
    headLearningRate: 1e-3,
    history: { records: [...head, ...ft], fineTuneStartEpoch: ft.length ? o.headEpochs + 1 : null },
    result: { stopReason: 'completed', epochs: phase === 'head' ? o.headEpochs : (o.fineTuneEpochs ?? 0), cut: 'head_pool', ...(phase === 'fine-tune' ? { fromBlock: 'block_11' } : {}) },
    metrics: o.accuracy === undefined ? null : { accuracy: o.accuracy, loss: 0.3, macroF1: o.accuracy - 0.01, count: 60 },
    timings: { featureSeconds: 1.5, trainSeconds: 3.25 },
    engine: { engine: 'wasm', tfBackend: 'wasm', details: 'SIMD, 1 thread' },
    weights: '0123456789abcdef',
  };
  return JSON.parse(JSON.stringify(record)) as RunRecord;
}
