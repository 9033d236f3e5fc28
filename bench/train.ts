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
import { loadDataset } from '../lib/data/load';
import { loadPixels } from '../lib/data/pixels';
import { defaultDataCacheDir } from '../lib/data/cache-dir';
import { loadBase } from '../lib/model/bases';
import { buildClassifier } from '../lib/model/surgery';
import { createTrainingSession, type TrainingSession } from '../lib/train/session';
import { fineTune, trainHead } from '../lib/train/phases';
import { runPipeline, PIPELINE_DEFAULTS, type PipelineOptions } from '../lib/train/pipeline';

const NAME = 'train';

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const add = (c: string, metric: string, value: number, unit: string, note?: string) => results.push({ benchmark: NAME, case: c, metric, value, unit, note });
  const engine = await initEngine({ quiet: true });
  const size = opts.quick ? 96 : PIPELINE_DEFAULTS.imageSize;
  const render = opts.quick ? { train: 90, test: 30 } : { train: 2520, test: 372 };
  const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-bench-train-'));
  // Rendered images and decoded pixels come from the shared data cache; activations go to a fresh folder so
  // that "first run" really computes them.
  const dataCache = defaultDataCacheDir();
  const tag = `${engine.engine}, ${size}px, ${render.train} train images`;
  const tensorsAtStart = tf.memory().numTensors;
  try {
    const splits = await loadDataset({ source: 'rendered', render, cacheDir: dataCache, quiet: true });
    const train = await loadPixels(splits.train, { size, cacheDir: dataCache, quiet: true });
    const test = await loadPixels(splits.test, { size, cacheDir: dataCache, quiet: true });
    const base = await loadBase({ base: 'embedded', inputSize: size, quiet: true });
    const session = (augment: boolean, dir: string, classifier: tf.LayersModel): TrainingSession =>
      createTrainingSession({ base, classifier, train, test, seed: 0, validationSplit: 0, augment: augment ? {} : false, cacheDir: dir, callbacks: {} });
    const one = { epochs: 1, earlyStopping: false as const };

    // 1. Epoch times: cached vs plain, both phases, no augmentation (so both paths do the same work).
    {
      const classifier = buildClassifier(base, { numClasses: train.classes.length, seed: 0 });
      const s = session(false, path.join(cacheRoot, 'epochs'), classifier);
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
      s.dispose();
      classifier.dispose();
    }

    // 2. Re-running fine-tuning with another learning rate, caches warm, vs its first run (default augmentation).
    {
      const classifier = buildClassifier(base, { numClasses: train.classes.length, seed: 0 });
      const s = session(true, path.join(cacheRoot, 'rerun'), classifier);
      const epochs = opts.quick ? 1 : PIPELINE_DEFAULTS.fineTuneEpochs;
      await trainHead(s, { epochs: opts.quick ? 2 : PIPELINE_DEFAULTS.epochs });
      let t = Date.now();
      await fineTune(s, { epochs, earlyStopping: false });
      const first = (Date.now() - t) / 1000;
      t = Date.now();
      const again = await fineTune(s, { epochs, earlyStopping: false, learningRate: 3e-5 });
      const rerun = (Date.now() - t) / 1000;
      add(`fine-tune first run, ${epochs} epochs (${tag})`, 'time', first, 's', 'includes computing the boundary activations');
      add(`fine-tune re-run, another lr, warm caches (${tag})`, 'time', rerun, 's', `activations computed: ${again.cache.computed}`);
      add(`fine-tune re-run / first run (${tag})`, 'ratio', rerun / first, 'x', 'target <= 0.10');
      s.dispose();
      classifier.dispose();
    }
    base.model.dispose();

    // 3. The default pipeline end to end (quick: small counts and epochs).
    const pipeline: PipelineOptions = opts.quick
      ? { data: 'rendered', render, base: 'embedded', imageSize: size, epochs: 2, fineTuneEpochs: 1 }
      : { data: 'rendered', base: 'embedded' };
    const t = Date.now();
    const r = await runPipeline({ ...pipeline, cacheDir: path.join(cacheRoot, 'pipeline'), outDir: path.join(cacheRoot, 'out'), progress: 'silent' });
    add(`pipeline end to end (${opts.quick ? 'quick' : 'defaults'}, ${tag})`, 'time', (Date.now() - t) / 1000, 's', 'rendering excluded when the rendered set is cached');
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
