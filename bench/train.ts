/**
 * Training benchmarks: epoch times of both phases on cached activations vs the plain path (the whole model
 * on pixels every step, as the Keras tutorial runs it); the time to re-run fine-tuning with another learning
 * rate when the caches are warm vs its first run; the default pipeline end to end; peak RSS; tensor counts.
 * Quick mode uses a small rendered set, small images and one epoch per case.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BenchResult } from './types';
import { initEngine } from '../lib/engine/engine';
import { DEFAULT_PARAMETERS, type ExperimentParameters } from '../lib/experiment/parameters';
import { prepareExperiment } from '../lib/experiment/prepare';
import { runPipeline, type PipelineOptions } from '../lib/experiment/pipeline';
import { fineTune, trainHead } from '../lib/train/phases';

const NAME = 'train';

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const add = (c: string, metric: string, value: number, unit: string, note?: string) => results.push({ benchmark: NAME, case: c, metric, value, unit, note });
  const engine = await initEngine({ quiet: true });
  const size = opts.quick ? 96 : DEFAULT_PARAMETERS.imageSize;
  const render = opts.quick ? { train: 90, test: 30 } : { train: DEFAULT_PARAMETERS.renderedTrain, test: DEFAULT_PARAMETERS.renderedTest };
  // A fresh cache, so that "first run" really computes the activations.
  const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-bench-train-'));
  const tag = `${engine.engine}, ${size}px, ${render.train} train images`;
  const tensorsAtStart = tf.memory().numTensors;
  const params = (changes: Partial<ExperimentParameters>): ExperimentParameters => ({
    ...DEFAULT_PARAMETERS,
    engine: engine.engine,
    data: 'rendered',
    base: 'embedded',
    renderedTrain: render.train,
    renderedTest: render.test,
    imageSize: size,
    validationSplit: 0,
    cacheDir: path.join(cacheRoot, 'experiment'),
    ...changes,
  });
  try {
    const one = { epochs: 1, earlyStopping: false as const };

    // 1. Epoch times: cached vs plain, both phases, no augmentation (so both paths do the same work).
    {
      const exp = await prepareExperiment(params({ augment: false }), { quiet: true, callbacks: {} });
      const s = exp.session;
      const tensors = tf.memory().numTensors;
      const headCachedFirst = await trainHead(s, one);
      const headCached = await trainHead(s, one);
      const headPlain = await trainHead(s, { ...one, path: 'plain' });
      add(`head epoch, cached (${tag})`, 'time', headCached.records[0].seconds, 's', `activations computed once in ${headCachedFirst.featureSeconds.toFixed(1)} s`);
      add(`head epoch, plain (${tag})`, 'time', headPlain.records[0].seconds, 's');
      add(`head epoch speed-up (${tag})`, 'ratio', headPlain.records[0].seconds / headCached.records[0].seconds, 'x');
      const ftFirst = await fineTune(s, one);
      const ftCached = await fineTune(s, one);
      const ftPlain = await fineTune(s, { ...one, path: 'plain' });
      add(`fine-tune epoch from block_11, cached (${tag})`, 'time', ftCached.records[0].seconds, 's', `boundary activations computed once in ${ftFirst.featureSeconds.toFixed(1)} s`);
      add(`fine-tune epoch from block_11, plain (${tag})`, 'time', ftPlain.records[0].seconds, 's');
      add(`fine-tune epoch speed-up (${tag})`, 'ratio', ftPlain.records[0].seconds / ftCached.records[0].seconds, 'x');
      add(`tensors after vs before training runs (${tag})`, 'count', tf.memory().numTensors - tensors, 'tensors', 'must be 0');
    }

    // 2. Re-running fine-tuning with another learning rate, caches warm, vs its first run (default augmentation).
    {
      const exp = await prepareExperiment(params({}), { quiet: true, callbacks: {} });
      const s = exp.session;
      const epochs = opts.quick ? 1 : DEFAULT_PARAMETERS.fineTuneEpochs;
      await trainHead(s, { epochs: opts.quick ? 2 : DEFAULT_PARAMETERS.headEpochs });
      let t = Date.now();
      await fineTune(s, { epochs, earlyStopping: false });
      const first = (Date.now() - t) / 1000;
      t = Date.now();
      const again = await fineTune(s, { epochs, earlyStopping: false, learningRate: 3e-5 });
      const rerun = (Date.now() - t) / 1000;
      add(`fine-tune first run, ${epochs} epochs (${tag})`, 'time', first, 's', 'includes computing the boundary activations');
      add(`fine-tune re-run, another lr, warm caches (${tag})`, 'time', rerun, 's', `activations computed: ${again.cache.computed}`);
      add(`fine-tune re-run / first run (${tag})`, 'ratio', rerun / first, 'x', 'target <= 0.10');
      exp.dispose();
    }

    // 3. The default pipeline end to end (quick: small counts and epochs).
    const pipeline: PipelineOptions = opts.quick
      ? { data: 'rendered', renderedTrain: render.train, renderedTest: render.test, base: 'embedded', imageSize: size, headEpochs: 2, fineTuneEpochs: 1 }
      : { data: 'rendered', base: 'embedded' };
    const t = Date.now();
    const r = await runPipeline({ ...pipeline, cacheDir: path.join(cacheRoot, 'pipeline'), out: path.join(cacheRoot, 'out'), progress: 'silent' });
    add(`pipeline end to end from an empty cache (${opts.quick ? 'quick' : 'defaults'}, ${tag})`, 'time', (Date.now() - t) / 1000, 's', 'rendering included');
    add(`pipeline test accuracy, head only`, 'accuracy', r.head.evaluation.accuracy * 100, '%');
    if (r.fineTune) add(`pipeline test accuracy, fine-tuned`, 'accuracy', r.fineTune.evaluation.accuracy * 100, '%');
    for (const [k, v] of Object.entries(r.timings)) add(`pipeline step ${k}`, 'time', v, 's');
  } finally {
    fs.rmSync(cacheRoot, { recursive: true, force: true });
  }
  add('peak RSS', 'memory', peakRssMb(), 'MiB');
  add('tensors after vs before the benchmark', 'count', tf.memory().numTensors - tensorsAtStart, 'tensors');
  return results;
}
