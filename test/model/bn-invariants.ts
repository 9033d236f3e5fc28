/**
 * The Keras BatchNormalization and frozen-weight invariants, run by one test file per backend
 * (bn-cpu.test.ts, bn-wasm.test.ts, test/engine/webgpu_bn.test.ts): after `fit`, frozen weights (BN moving statistics included) are
 * bit-identical, unfrozen conv weights changed, BN moving statistics unchanged unless BN training is asked for.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadBase } from '../../lib/model/bases';
import { buildClassifier, HEAD_LAYERS, recompileClassifier, unfreezeFrom } from '../../lib/model/surgery';
import type { LoadedBase } from '../../lib/model/types';
import { buildTinyBase, randomBatch, sameBits, snapshotWeights, tempDir, writeModelDir } from './helpers';

const BLOCK_2_AND_UP = /^(block_2_|Conv_1)/;
const isMovingStat = (name: string): boolean => /moving_(mean|variance)/.test(name);

/** Names of weights that changed / stayed bit-identical between two snapshots. */
function diff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { changed: string[]; same: string[] } {
  const changed: string[] = [];
  const same: string[] = [];
  for (const [k, v] of a) (sameBits(v, b.get(k)!) ? same : changed).push(k);
  return { changed, same };
}

export function batchNormInvariantSuite(backend: 'cpu' | 'wasm' | 'webgpu', canTrainConv: () => string | undefined): void {
  describe(`frozen weights and BatchNormalization in Keras semantics (${backend})`, () => {
    let dir: string;
    let base: LoadedBase;
    let xs: tf.Tensor4D;
    let ys: tf.Tensor2D;

    before(async () => {
      await initEngine({ engine: backend, quiet: true });
      dir = tempDir(`bn-${backend}`);
      const tiny = buildTinyBase();
      await writeModelDir(tiny, dir);
      tiny.dispose();
      ({ xs, ys } = randomBatch(8, 32, 3));
    });
    after(() => {
      tf.dispose([xs, ys]);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    // A fresh base per test: training changes the shared base weights.
    const freshClassifier = async (): Promise<{ m: tf.LayersModel; base: LoadedBase }> => {
      base?.model.dispose();
      base = await loadBase({ base: path.join(dir, 'model.json'), quiet: true });
      return { m: buildClassifier(base, { numClasses: 3, seed: 1 }), base };
    };
    const fit = async (m: tf.LayersModel): Promise<void> => {
      recompileClassifier(m, { optimizer: tf.train.adam(0.05) });
      await m.fit(xs, ys, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
    };

    test('control: tfjs alone updates the moving statistics of a BN layer with trainable = false (tfjs #7250)', async () => {
      const raw = buildTinyBase();
      for (const l of raw.layers) l.trainable = false;
      const pooled = tf.layers.globalAveragePooling2d({}).apply(raw.outputs[0]) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
      const m = tf.model({ inputs: raw.inputs, outputs: out });
      const before = await snapshotWeights(m);
      await fit(m);
      const { changed } = diff(before, await snapshotWeights(m));
      assert.ok(changed.includes('Conv_1_bn/moving_mean'), 'unguarded BN statistics should move during fit');
      assert.ok(!changed.includes('Conv_1/kernel'));
      m.dispose();
    });

    test('head phase: every base weight (BN moving statistics included) is bit-identical after fit; the head changed', async () => {
      const { m } = await freshClassifier();
      const before = await snapshotWeights(m);
      await fit(m);
      const { changed, same } = diff(before, await snapshotWeights(m));
      assert.deepEqual(changed.sort(), [`${HEAD_LAYERS.output}/bias`, `${HEAD_LAYERS.output}/kernel`]);
      assert.ok(same.includes('Conv_1_bn/moving_mean') && same.includes('bn_Conv1/moving_variance'));
      m.dispose();
    });

    test('fine-tuning from block_2: frozen blocks bit-identical, unfrozen conv weights changed, BN moving statistics unchanged', async (t) => {
      const why = canTrainConv();
      if (why) {
        t.skip(why);
        return;
      }
      const { m } = await freshClassifier();
      unfreezeFrom(m, base, { from: 'block_2' });
      const before = await snapshotWeights(m);
      await fit(m);
      const { changed, same } = diff(before, await snapshotWeights(m));
      for (const name of same) assert.ok(!BLOCK_2_AND_UP.test(name) || isMovingStat(name), `${name} should have trained`);
      for (const name of changed) assert.ok((BLOCK_2_AND_UP.test(name) && !isMovingStat(name)) || name.startsWith('head_'), `${name} should be frozen`);
      for (const k of ['block_2_expand/kernel', 'block_2_depthwise/depthwise_kernel', 'Conv_1/kernel', 'Conv_1_bn/gamma']) assert.ok(changed.includes(k), k);
      for (const k of ['block_1_expand/kernel', 'bn_Conv1/gamma', 'block_1_project_BN/moving_mean', 'Conv_1_bn/moving_mean', 'Conv_1_bn/moving_variance']) {
        assert.ok(same.includes(k), k);
      }
      m.dispose();
    });

    test('trainBatchNorm: true lets the unfrozen BN layers update their moving statistics (only those)', async (t) => {
      const why = canTrainConv();
      if (why) {
        t.skip(why);
        return;
      }
      const { m } = await freshClassifier();
      unfreezeFrom(m, base, { from: 'last_conv', trainBatchNorm: true });
      const before = await snapshotWeights(m);
      await fit(m);
      const { changed, same } = diff(before, await snapshotWeights(m));
      assert.ok(changed.includes('Conv_1_bn/moving_mean') && changed.includes('Conv_1_bn/moving_variance'));
      assert.ok(same.includes('block_2_project_BN/moving_mean') && same.includes('block_2_project/kernel'));
      m.dispose();
      base.model.dispose();
    });
  });
}
