import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { detectBlockFamily, inferBlocks, type LayerInfo } from '../../lib/model/blocks';
import { summarizeModel } from '../../lib/model/summary';
import { buildTinyBase } from './helpers';

const L = (names: string[], cls = 'Conv2D'): LayerInfo[] => names.map((name) => ({ name, className: name.startsWith('input') ? 'InputLayer' : cls }));

test('MobileNetV1 naming: conv1 stem, then one block per depthwise + pointwise pair', () => {
  const layers = L(['input_1', 'conv1_pad', 'conv1', 'conv1_bn', 'conv1_relu', 'conv_dw_1', 'conv_dw_1_bn', 'conv_dw_1_relu', 'conv_pw_1', 'conv_pw_1_bn', 'conv_pw_1_relu', 'conv_pad_2', 'conv_dw_2', 'conv_pw_2', 'conv_pw_2_relu']);
  assert.equal(detectBlockFamily(layers), 'mobilenet_v1');
  const blocks = inferBlocks(layers);
  assert.deepEqual(blocks.map((b) => b.name), ['stem', 'block_1', 'block_2']);
  assert.deepEqual(blocks[2].layers, ['conv_pad_2', 'conv_dw_2', 'conv_pw_2', 'conv_pw_2_relu']);
  assert.equal(blocks[1].output, 'conv_pw_1_relu');
  assert.deepEqual(blocks.map((b) => b.index), [0, 1, 2]);
});

test('generic models: each conv/dense layer starts a block that the following BN and activation layers join', () => {
  const layers: LayerInfo[] = [
    { name: 'in', className: 'InputLayer' },
    { name: 'c1', className: 'Conv2D' },
    { name: 'bn1', className: 'BatchNormalization' },
    { name: 'act1', className: 'Activation' },
    { name: 'c2', className: 'Conv2D' },
    { name: 'pool', className: 'GlobalAveragePooling2D' },
  ];
  assert.equal(detectBlockFamily(layers), 'generic');
  assert.deepEqual(inferBlocks(layers).map((b) => [b.name, b.layers.join('+')]), [['c1', 'c1+bn1+act1'], ['c2', 'c2+pool']]);
});

test('MobileNetV2 naming out of block order is refused', () => {
  assert.throws(() => inferBlocks(L(['block_1_expand', 'block_2_expand', 'block_1_project']), 'mobilenet_v2'), /'block_1_project' belongs to block 'block_1', which ended earlier/);
});

test('summarizeModel without a base infers the blocks from the layer names', () => {
  const m = buildTinyBase();
  try {
    const s = summarizeModel(m);
    assert.deepEqual(s.blocks.map((b) => b.name), ['input', 'stem', 'block_1', 'block_2', 'last_conv']);
    assert.equal(s.totalParams, m.countParams());
    assert.equal(s.blocks.find((b) => b.name === 'block_1')!.state, 'partial');
    assert.deepEqual(s.outputShape, [null, 8, 8, 24]);
  } finally {
    m.dispose();
  }
});
