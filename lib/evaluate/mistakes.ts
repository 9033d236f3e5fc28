/** The misclassified examples of a report, paired with their images (for `misclassifiedGalleryFigure`). */
import type { EvaluationReport, MisclassifiedExample } from './metrics';

/** The images an evaluation covered: `count` RGB images of `size`x`size`, row-major uint8, in report order. */
export interface EvaluatedImages {
  pixels: Uint8Array;
  count: number;
  size: number;
}

/** One mistake and its image (a view into the evaluated images' pixels, RGB, `size`x`size`). */
export interface MisclassifiedImage {
  example: MisclassifiedExample;
  pixels: Uint8Array;
  size: number;
}

/** The report's most confident mistakes (at most `limit`) with their images from `set` (the evaluated split). */
export function misclassifiedImages(report: EvaluationReport, set: EvaluatedImages, limit = report.misclassified.length): MisclassifiedImage[] {
  if (set.count !== report.count) throw new Error(`misclassifiedImages: the report covers ${report.count} images but the pixel set has ${set.count}`);
  const per = set.size * set.size * 3;
  return report.misclassified.slice(0, limit).map((example) => ({
    example,
    pixels: set.pixels.subarray(example.index * per, (example.index + 1) * per),
    size: set.size,
  }));
}
