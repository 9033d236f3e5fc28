/** The shapes that flow out of the data sources: a Dataset is a list of (file, label) with class names. */
import type { SplitDesign } from './render/params';

/** Where a data set came from. */
export const DATA_SOURCES = ['tfds', 'rendered', 'folder'] as const;
export type DataSourceKind = (typeof DATA_SOURCES)[number];

/** One image: an absolute file path and its class index into `Dataset.classes`. */
export interface DatasetItem {
  file: string;
  label: number;
  /**
   * Set only where the item comes from another source than its Dataset: `'rendered'` for the hands that
   * `mixRendered` adds to a user's training split (keep them out of validation and test).
   */
  origin?: DataSourceKind;
}

/** One split of a data set. Items are in a stable order (class, then file name). */
export interface Dataset {
  /** Human-readable name, e.g. `rock_paper_scissors`. */
  name: string;
  /** `train` or `test`. */
  split: string;
  /** Class names; label i is `classes[i]`. */
  classes: string[];
  items: DatasetItem[];
  source: DataSourceKind;
  /** The folder holding this split's class folders. */
  root: string;
}

/** A file that was left out while loading, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** What `mixRendered` added to the training split. */
export interface MixSummary {
  /** The user's own training images. */
  own: number;
  /** Rendered images added (perClass per class). */
  rendered: number;
  perClass: number;
  /** The stored size of the rendered images: the median width and height of the user's training images (each capped at 1024 px). */
  width: number;
  height: number;
  /** The folder of class folders holding them. */
  folder: string;
}

/** Train and test splits plus what happened while loading. */
export interface DataSplits {
  train: Dataset;
  test: Dataset;
  source: DataSourceKind;
  /** One line per split with class counts, and the skipped count; printed unless `quiet`. */
  summary: string;
  skipped: SkippedFile[];
  /** Set when `mixRendered` added rendered hands to the training split. */
  mix?: MixSummary;
}

/** Counts, seed and image size for the rendered (CGI) data set. */
export interface RenderSpec {
  /** Training images (default 2520, as TFDS). */
  train?: number;
  /** Test images (default 372, as TFDS). */
  test?: number;
  /** Renderer seed (default 0). */
  seed?: number;
  /** Image side in pixels (default 300, as TFDS). */
  size?: number;
  /**
   * `'shifted'` (default): test hands come from parameter ranges held out of training (other hand sizes and
   * proportions, skin tones, nail polish, light and camera tilt; see `HELD_OUT`), as TFDS's test set shows other
   * hands than its training set. `'iid'`: both splits from the same distribution.
   */
  splitDesign?: SplitDesign;
}
