/**
 * The HTML report of `npm run evaluate`: the numbers, the confusion matrix, the most confident mistakes and what the
 * model looked at in them (Grad-CAM), in
 * the style of the notebook reports and as self-contained (plotly.js and the images are inline).
 */
import type { SkippedFile } from '../data/types';
import type { EvaluationReport } from '../evaluate/metrics';
import { figureHtml, tableHtml } from './display';
import type { MisclassifiedImage } from '../evaluate/mistakes';
import { confusionMatrixFigure, misclassifiedGalleryFigure } from './figures/evaluation';
import { gradCamFigure } from './figures/gradcam';
import type { GradCamResult } from '../evaluate/gradcam';
import { escapeHtml } from './html';
import { renderHtmlPage } from './render';

/** What the report shows. */
export interface EvaluationPageInput {
  report: EvaluationReport;
  /** The most confident mistakes with their pixels (`misclassifiedImages`). */
  gallery: MisclassifiedImage[];
  /** Grad-CAM of the mistakes (`gradCamBatch`), if any. */
  gradCam?: GradCamResult[];
  /** The classifier's folder. */
  model: string;
  /** The evaluated folder. */
  data: string;
  skipped: SkippedFile[];
}

/** The complete page. */
export function evaluationPageHtml(input: EvaluationPageInput): string {
  const { report } = input;
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  const summary = tableHtml(
    [
      { metric: 'accuracy', value: pct(report.accuracy) },
      { metric: 'macro F1', value: report.macroF1.toFixed(4) },
      { metric: 'loss (cross-entropy)', value: report.loss.toFixed(4) },
      { metric: 'images', value: report.count },
      { metric: 'files skipped', value: input.skipped.length },
    ],
    { caption: 'Summary' },
  );
  const perClass = tableHtml(
    report.perClass.map((m) => ({ class: m.className, precision: m.precision, recall: m.recall, f1: m.f1, support: m.support })),
    { caption: 'Per class' },
  );
  const skipped = input.skipped.length
    ? `<h2>Skipped files</h2>\n<ul>${input.skipped.map((s) => `<li><code>${escapeHtml(s.file)}</code>: ${escapeHtml(s.reason)}</li>`).join('')}</ul>`
    : '';
  const body = [
    `<h1>Evaluation</h1>`,
    `<p>Classifier <code>${escapeHtml(input.model)}</code> on <code>${escapeHtml(input.data)}</code>.</p>`,
    summary,
    perClass,
    figureHtml(confusionMatrixFigure(report)),
    figureHtml(misclassifiedGalleryFigure(input.gallery)),
    input.gradCam?.length ? `<h2>What the model looked at (Grad-CAM)</h2>\n<p>Red: where the network found the most evidence for the predicted class.</p>\n${figureHtml(gradCamFigure(input.gradCam))}` : '',
    skipped,
  ].join('\n');
  return renderHtmlPage({ title: `Evaluation: ${input.model}`, subtitle: new Date().toISOString(), indexHref: null, body, charts: true });
}
