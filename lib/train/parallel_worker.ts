/**
 * Worker thread of data-parallel training (see ./parallel.ts): its own tfjs engine, one copy of the model being
 * trained (BN guarded into inference mode as in the parent), and per call the gradients of one batch slice.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine, type EngineName } from '../engine/engine';
import { serveWorkerCalls } from '../engine/pool_worker';
import { guardBatchNorm } from '../model/batchnorm';
import { allLayers, trainableWeightList, weightOriginalName } from '../model/layers';
import { applyDropoutSeeds } from './dropout';
import type { ParallelModelPayload, SliceJob, SliceResult } from './parallel';
import { disposeStep, sliceGradients } from './step';

let loaded: { key: string; model: tf.LayersModel; vars: tf.Variable[] } | null = null;

function unload(): void {
  loaded?.model.dispose();
  loaded = null;
}

serveWorkerCalls({
  async init(payload: { engine: EngineName }) {
    const info = await initEngine({ engine: payload.engine, quiet: true });
    return { value: info.engine };
  },
  async load(p: ParallelModelPayload) {
    unload();
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: p.topology, weightSpecs: p.weightSpecs, weightData: p.weightData }));
    for (const l of allLayers(model)) {
      if (p.trainable[l.name] !== undefined) l.trainable = p.trainable[l.name];
      // The parent refuses to split a model whose BN layers use batch statistics, so every BN here is inference-only.
      guardBatchNorm(l, false);
    }
    const weights = trainableWeightList(model);
    const names = weights.map((w) => `${weightOriginalName(w)} ${JSON.stringify(w.shape)}`);
    const expected = p.trainableSpecs.map((s) => `${s.name} ${JSON.stringify(s.shape)}`);
    if (names.join('\n') !== expected.join('\n')) {
      model.dispose();
      throw new Error(`the loaded copy's trainable weights differ from the parent's: got [${names.join(', ')}], expected [${expected.join(', ')}]`);
    }
    loaded = { key: p.key, model, vars: weights.map((w) => w.read() as tf.Variable) };
    return { value: weights.length };
  },
  step(job: SliceJob) {
    if (!loaded || loaded.key !== job.key) throw new Error(`training worker: model ${job.key} is not loaded`);
    const { model, vars } = loaded;
    if (job.weights.length !== vars.length) throw new Error(`training worker: got ${job.weights.length} weight arrays, expected ${vars.length}`);
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(job.weights[i], v.shape, 'float32'))));
    applyDropoutSeeds(model, job.dropoutSeeds);
    const r = tf.tidy(() => {
      const x = tf.tensor(job.x, job.shape, 'float32');
      const y = tf.tensor1d(job.labels, 'int32');
      return sliceGradients(model, vars, x, y, job.numClasses, job.labelSmoothing);
    });
    const grads = vars.map((v) => (r.grads[v.name].dataSync() as Float32Array).slice());
    const value: SliceResult = { loss: r.value.dataSync()[0], hits: r.hits.dataSync()[0], grads, outputCheck: r.outputCheck.dataSync()[0] };
    disposeStep(r);
    return { value, transfer: grads.map((g) => g.buffer as ArrayBuffer) };
  },
  unload(payload: { key: string }) {
    if (loaded?.key === payload.key) unload();
    return { value: true };
  },
});
