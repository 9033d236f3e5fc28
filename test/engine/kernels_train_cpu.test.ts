import { test } from 'node:test';
import { assertTrainsAllLayers } from './kernels_train_helper';

// The reference engine: the same network and test as train_wasm.test.ts, smaller because cpu is ~20x slower.
test('MobileNetV2 (alpha 0.35, 32 px, batch 2) trains all layers with fit on cpu', async () => {
  await assertTrainsAllLayers('cpu', 32, 2);
});
