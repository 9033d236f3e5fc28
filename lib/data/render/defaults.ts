/** Defaults of the rendered data set, written once (the renderer and the data layer's cache both read them). */
import { DEFAULT_SPLIT_DESIGN, type SplitDesign } from './params';

export interface RenderDefaults {
  /** Training images (2520, as TFDS). */
  train: number;
  /** Test images (372, as TFDS). */
  test: number;
  /** Data set seed. */
  seed: number;
  /** Image side in pixels (300, as TFDS). */
  size: number;
  /** How the test split relates to the training split ('shifted': held-out hands). */
  splitDesign: SplitDesign;
}

export const RENDER_DEFAULTS: Readonly<RenderDefaults> = { train: 2520, test: 372, seed: 0, size: 300, splitDesign: DEFAULT_SPLIT_DESIGN };
