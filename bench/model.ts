/**
 * Model benchmark: load time of the embedded base (first load in the process, then again), and forward
 * throughput of the embedded MobileNetV2 (cut at out_relu) at 160 and 224 px on wasm. --quick: batch 8,
 * 2 timed batches; full: batch 32, 5 timed batches. One warm-up batch each (not timed).
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { BenchResult } from './types';
import { initEngine } from '../lib/engine/engine';
import { loadBase } from '../lib/model/bases';

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const engine = await initEngine({ engine: 'wasm', quiet: true });
  const results: BenchResult[] = [];
  const first = await loadBase({ base: 'embedded', quiet: true });
  first.model.dispose();
  const again = await loadBase({ base: 'embedded', quiet: true });
  again.model.dispose();
  results.push(
    { benchmark: 'model', case: 'embedded base (nsfwjs MobileNetV2 1.0) 224px', metric: 'load, first', value: first.loadMs, unit: 'ms', note: 'read + dequantise + build, cut at out_relu' },
    { benchmark: 'model', case: 'embedded base (nsfwjs MobileNetV2 1.0) 224px', metric: 'load, again', value: again.loadMs, unit: 'ms' },
  );
  const batch = opts.quick ? 8 : 32;
  const timed = opts.quick ? 2 : 5;
  for (const size of [160, 224]) {
    const base = await loadBase({ base: 'embedded', inputSize: size, quiet: true });
    const x = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 1);
    const step = async (): Promise<void> => {
      const y = base.model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    };
    await step();
    const t0 = performance.now();
    for (let i = 0; i < timed; i++) await step();
    const s = (performance.now() - t0) / 1000;
    x.dispose();
    base.model.dispose();
    results.push({
      benchmark: 'model',
      case: `embedded forward ${size}px batch ${batch}`,
      metric: 'throughput',
      value: (batch * timed) / s,
      unit: 'img/s',
      note: `${engine.engine} [${engine.details}], ${timed} batches`,
    });
  }
  return results;
}
