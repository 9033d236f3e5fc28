/** Pairs the most confident mistakes of a report with their pixels, for `misclassifiedGalleryFigure`. */
import type { GalleryItem } from '../report/figures/evaluation';
import type { PixelInput } from '../train/types';
import type { EvaluationReport } from './metrics';

/** The report's misclassified examples (at most `limit`) with their images from `set` (the evaluated split). */
export function misclassifiedGalleryItems(report: EvaluationReport, set: PixelInput, limit = report.misclassified.length): GalleryItem[] {
  if (set.count !== report.count) throw new Error(`misclassifiedGalleryItems: the report covers ${report.count} images but the pixel set has ${set.count}`);
  const per = set.size * set.size * 3;
  return report.misclassified.slice(0, limit).map((example) => ({
    example,
    pixels: set.pixels.subarray(example.index * per, (example.index + 1) * per),
    size: set.size,
  }));
}
