/**
 * Worker thread of parallel feature extraction (see ./extract.ts): its own tfjs engine, one loaded inference
 * spec (replaced when the parent sends weights with another key), and batches run with the same code as the
 * in-process path.
 */
import { initEngine, EngineName } from '../engine/engine';
import { serveWorkerCalls } from '../engine/pool_worker';
import { FoldedModel, InferenceSpec } from '../model/fold';
import { runExtractionBatch, BatchJob } from './extract';

let model: { key: string; folded: FoldedModel } | null = null;

serveWorkerCalls({
  async init(payload: { engine: EngineName }) {
    const info = await initEngine({ engine: payload.engine, quiet: true });
    return { value: info.engine };
  },
  load(payload: { key: string; spec: InferenceSpec }) {
    if (model?.key !== payload.key) {
      model?.folded.dispose();
      model = null;
      model = { key: payload.key, folded: new FoldedModel(payload.spec) };
    }
    return { value: true };
  },
  async extract(payload: { key: string; job: BatchJob }) {
    if (!model || model.key !== payload.key) throw new Error(`extract worker: model ${payload.key.slice(0, 12)} is not loaded`);
    const out = await runExtractionBatch(model.folded, payload.job);
    return { value: out, transfer: [out.buffer as ArrayBuffer] };
  },
});
