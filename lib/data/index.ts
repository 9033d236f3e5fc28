// Public API of lib/data (re-exported by lib/index.ts): sources -> Dataset -> pixels -> tensors.
export * from './types';
export { RPS_CLASSES, orderClasses, listImageFiles } from './folder';
export { imageBytesProblem, imageFileProblem, imageHeaderProblem, sniffImageFormat, MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS, type ImageFormat } from './validate';
export { TFDS_RPS_FILES, DATA_MIRROR_ENVS, tfdsCacheFolder, tfdsCached, ensureTfdsData, type TfdsFileSpec, type TfdsFilesOverride, type TfdsOptions } from './tfds';
export * from './render/index';
export { RENDER_DEFAULTS, MIX_MAX_RENDER, renderedCacheFolder, ensureRenderedData, ensureMixImages, type MixRenderSpec } from './rendered';
export { mixRenderedInto, medianImageSize, type MixOptions } from './mix';
export { DATA_CACHE_ENV, defaultDataCacheDir } from './cache-dir';
export { DATA_CHOICES, DEFAULT_DATA, loadDataset, type LoadDataOptions } from './load';
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
  erasedPixels,
  DEFAULT_AUGMENT,
  FILL_MODES,
  type AugmentOptions,
  type AugmentParams,
  type EraseRect,
  type FillMode,
  type AugmentSetting,
} from './augment';
export { splitIndices, shuffleIndices, batchIndices, type SplitOptions } from './split';
export { newImageFiles, NEW_IMAGE_DEFAULTS, type NewImageOptions } from './new-images';
export { testTimeView, meanProbabilities, checkTta, TTA_AUGMENT, DEFAULT_TTA, type TtaImages } from './tta';
