/** Types shared by the model stage: bases, blocks, heads. */
import type * as tf from '@tensorflow/tfjs';

/** The range input pixels are scaled to before they enter a network, e.g. [0, 1] or [-1, 1]. */
export type PixelRange = [number, number];

/**
 * A unit of the base that is frozen or unfrozen as a whole (for MobileNetV2 an inverted-residual block,
 * whose residual `Add` must never see a half-trained branch).
 */
export interface BlockSpec {
  /** Position in the base, 0 = closest to the input. */
  index: number;
  /** Block name, e.g. `stem`, `block_11`, `last_conv`. */
  name: string;
  /** Names of the layers in the block, in network order. */
  layers: string[];
  /** The layer whose output ends the block (a valid cut point). */
  output: string;
}

/** A pretrained feature extractor as the registry describes it. */
export interface BaseSpec {
  /** Registry id (`embedded`, `mobilenet_v2_1.00`, ...) or `custom:<path or URL>`. */
  id: string;
  /** Human-readable name. */
  label: string;
  /** Height and width of the square RGB input the model is built for. */
  inputSize: number;
  /** Pixel range the weights were trained with. */
  pixelRange: PixelRange;
  /** Layer whose output is the feature map (everything after it is dropped). */
  cutLayer: string;
  /** Where the weights come from and what was done to them. */
  provenance: string;
  /** What the weights were trained on, as a phrase for prose ("ImageNet", ...). */
  pretraining: string;
  /** Blocks of the kept part, input to cut layer. */
  blocks: BlockSpec[];
  /** True when the weights must be downloaded (once; then cached). */
  online: boolean;
  /** The model.json URL (online bases) or path (local ones). */
  url?: string;
}

/** A base ready for surgery. */
export interface LoadedBase {
  spec: BaseSpec;
  /**
   * input -> output of `spec.cutLayer`; all layers frozen, BatchNormalization in inference mode.
   * The caller owns it (`model.dispose()`); classifiers built on it share its layers and weights.
   */
  model: tf.LayersModel;
  /** Where the weights were read from (file, cache folder or package). */
  source: string;
  /** Milliseconds spent loading (download excluded when the files were cached). */
  loadMs: number;
}

/** The classification head put on top of a base. */
export interface HeadOptions {
  /** Number of classes of the softmax output. Required, >= 2. */
  numClasses: number;
  /** Units of an optional hidden ReLU Dense layer between pooling and output. Default 0 (none). */
  hiddenUnits?: number;
  /** Dropout rate before the output layer, in [0, 1). Default 0.2. */
  dropout?: number;
  /** Seed of the head's weight initializers. Default 0. */
  seed?: number;
}
