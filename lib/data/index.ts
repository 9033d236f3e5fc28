// Public API of lib/data (re-exported by lib/index.ts): sources -> Dataset -> pixels -> tensors.
export * from './types';
export { RPS_CLASSES, orderClasses, listImageFiles } from './folder';
export { imageBytesProblem, imageFileProblem, sniffImageFormat, type ImageFormat } from './validate';
export { TFDS_RPS_FILES, DATA_MIRROR_ENVS, tfdsCacheFolder, tfdsCached, ensureTfdsData, type TfdsFileSpec, type TfdsFilesOverride, type TfdsOptions } from './tfds';
export * from './render/index';
export { RENDER_DEFAULTS, renderedCacheFolder, ensureRenderedData } from './rendered';
export { DATA_CACHE_ENV, defaultDataCacheDir } from './cache-dir';
export { DATA_SOURCE_ENV, loadDataset, type LoadDataOptions } from './load';
export { decodeImage } from './decode';
export { resizeRgbaOnWhite } from './resize';
export {
  loadPixels,
  pixelsToTensor,
  pixelSetKey,
  clearPixelMemo,
  pixelCacheStats,
  type PixelSet,
  type LoadPixelsOptions,
  type PixelsToTensorOptions,
} from './pixels';
export {
  augmentPixels,
  augmentParams,
  augmentImage,
  DEFAULT_AUGMENT,
  type AugmentOptions,
  type AugmentParams,
  type AugmentSetting,
} from './augment';
export { splitIndices, shuffleIndices, batchIndices, type SplitOptions } from './split';
