import { test } from 'node:test';
import { assertTrainsAllLayers } from './kernels_train_helper';

test('MobileNetV2 (alpha 0.35, 64 px, batch 6) trains all layers with fit on wasm', async () => {
  await assertTrainsAllLayers('wasm', 64, 6);
});
