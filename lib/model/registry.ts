/** The registry of pretrained bases: where each lives, what it expects, where to cut it. */
import type { BaseSpec } from './types';

/** A registry entry: a `BaseSpec` before loading (blocks are derived from the loaded topology). */
export type BaseEntry = Omit<BaseSpec, 'blocks' | 'online'>;

export const EMBEDDED_BASE_ID = 'embedded';
/** The online base `auto` prefers. */
export const DEFAULT_ONLINE_BASE_ID = 'mobilenet_v2_1.00';
/** The online ImageNet base when cached or reachable, else the embedded one. */
export const DEFAULT_BASE = 'auto';

const EMBEDDED: BaseEntry = {
  id: EMBEDDED_BASE_ID,
  label: 'MobileNetV2 1.0 224 (embedded, from nsfwjs)',
  inputSize: 224,
  pixelRange: [0, 1],
  cutLayer: 'out_relu',
  provenance:
    'npm package nsfwjs 4.4.0 (MIT), dist/models/mobilenet_v2: a Keras 2.2.4 MobileNetV2 (alpha 1.0, 224 px) initialised ' +
    'from the Keras ImageNet weights and fine-tuned by the nsfwjs authors on their own 5-class image task; Conv1..block_10 ' +
    'keep the ImageNet weights, block_11..Conv_1 were re-tuned. Weights are uint8-quantised (dequantised to float32 on load). ' +
    'Input scaled to [0, 1]. Cut at out_relu ([7, 7, 1280] at 224 px); its classifier layers are dropped.',
  pretraining: 'ImageNet, with block_11 and later re-tuned by the nsfwjs authors on another image task',
};

const V2_ALPHAS = ['0.35', '0.50', '0.75', '1.00'] as const;
const V1_ALPHAS = ['0.25', '0.50', '0.75', '1.0'] as const;

function v2(alpha: string): BaseEntry {
  return {
    id: `mobilenet_v2_${alpha}`,
    label: `MobileNetV2 ${alpha} 224 (Keras ImageNet, no top)`,
    inputSize: 224,
    pixelRange: [-1, 1],
    cutLayer: 'out_relu',
    provenance:
      `Keras applications MobileNetV2 alpha ${alpha}, ImageNet weights, include_top=False, converted to a tfjs LayersModel ` +
      'and hosted by Google for Teachable Machine. Input scaled to [-1, 1]. Cut at out_relu.',
    pretraining: 'ImageNet',
    url: `https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${alpha}_224_no_top/model.json`,
  };
}

function v1(alpha: string): BaseEntry {
  return {
    id: `mobilenet_v1_${alpha}`,
    label: `MobileNetV1 ${alpha} 224 (Keras ImageNet)`,
    inputSize: 224,
    pixelRange: [-1, 1],
    cutLayer: 'conv_pw_13_relu',
    provenance:
      `Keras applications MobileNet (V1) alpha ${alpha}, ImageNet weights, converted to a tfjs LayersModel and hosted by ` +
      'Google (tfjs-models). Input scaled to [-1, 1]. Cut at conv_pw_13_relu; the classifier layers are dropped.',
    pretraining: 'ImageNet',
    url: `https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_${alpha}_224/model.json`,
  };
}

/** Every registered base, embedded first. */
export const BASE_REGISTRY: readonly BaseEntry[] = [EMBEDDED, ...V2_ALPHAS.map(v2), ...V1_ALPHAS.map(v1)];

export type BaseId = 'embedded' | `mobilenet_v2_${(typeof V2_ALPHAS)[number]}` | `mobilenet_v1_${(typeof V1_ALPHAS)[number]}`;

export function findBaseEntry(id: string): BaseEntry | undefined {
  return BASE_REGISTRY.find((b) => b.id === id);
}
