/** Fixtures for experiment-level tests: a TFDS-layout folder of small PNGs and a tiny base saved as a model.json. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { DEFAULT_PARAMETERS, type ExperimentParameters } from '../../lib/experiment/parameters';
import { buildMobileNetV2 } from '../../lib/model/mobilenet_v2';
import { encodePng } from '../../lib/util/png';
import { syntheticPixels } from '../train/helpers';

/** Saves `model` as `<dir>/model.json` + `weights.bin`; returns the model.json path. */
export async function saveModelJson(model: tf.LayersModel, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData as ArrayBuffer;
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(data));
      fs.writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

/** Writes `count` 32 px PNGs in `<root>/<class>/` (rock, paper, scissors). */
export function writeSplit(root: string, count: number, seed: number): void {
  const set = syntheticPixels(count, 32, seed);
  const per = 32 * 32 * 3;
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, set.classes[set.labels[i]]);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `img_${String(i).padStart(3, '0')}.png`), encodePng(set.pixels.subarray(i * per, (i + 1) * per), 32, 32));
  }
}


/** A TFDS-layout data folder (`rps/`, `rps-test-set/`) and a tiny MobileNetV2 base (alpha 0.35, 32 px) in `dir`. */
export async function tinyExperimentFixture(dir: string, counts = { train: 24, test: 9 }): Promise<{ data: string; base: string }> {
  writeSplit(path.join(dir, 'data', 'rps'), counts.train, 1);
  writeSplit(path.join(dir, 'data', 'rps-test-set'), counts.test, 2);
  const base = buildMobileNetV2({ alpha: 0.35, inputSize: 32, seed: 4 });
  const modelJson = await saveModelJson(base, path.join(dir, 'base'));
  base.dispose();
  return { data: path.join(dir, 'data'), base: modelJson };
}

/**
 * A tiny experiment in a new temporary folder (named `prefix`...): the wasm engine, the fixture's data and base,
 * 32 px, two head epochs and one fine-tuning epoch from block_16, a cache inside the folder. Remove `dir` after.
 */
export async function tinyExperiment(prefix: string): Promise<{ dir: string; parameters: ExperimentParameters }> {
  await initEngine({ engine: 'wasm', quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const fx = await tinyExperimentFixture(dir);
  const parameters: ExperimentParameters = {
    ...DEFAULT_PARAMETERS,
    engine: 'wasm',
    data: fx.data,
    base: fx.base,
    imageSize: 32,
    headEpochs: 2,
    fineTuneEpochs: 1,
    fineTuneFrom: 'block_16',
    batchSize: 8,
    augmentViews: 1,
    workers: 1,
    trainWorkers: 1,
    cacheDir: path.join(dir, 'cache'),
  };
  return { dir, parameters };
}
