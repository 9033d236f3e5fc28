/** The closing prose of notebook 05, written from the numbers of this run. */
import type { EvaluationReport } from '../evaluate/metrics';
import type { BaseSpec } from '../model/types';

/** A markdown summary: what the head alone reached, what fine-tuning added, the mistakes, and the recipe. */
export function conclusionMarkdown(r: { base: Pick<BaseSpec, 'label' | 'pretraining'>; headAccuracy: number; tuned: EvaluationReport; fromBlock: string }): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const delta = (r.tuned.accuracy - r.headAccuracy) * 100;
  const wrong = r.tuned.count - Math.round(r.tuned.accuracy * r.tuned.count);
  return [
    '## Summary',
    '',
    `- ${r.base.label}, pretrained on ${r.base.pretraining}, was frozen and given a new head; training only that head reached ` +
      `**${pct(r.headAccuracy)}** test accuracy on ${r.tuned.count} test images.`,
    `- Fine-tuning from ${r.fromBlock} at a low learning rate gave **${pct(r.tuned.accuracy)}** (${delta >= 0 ? '+' : ''}${delta.toFixed(1)} points).`,
    `- ${wrong === 0 ? 'No test image was misclassified.' : `${wrong} test image(s) were misclassified; the gallery above shows the most confident mistakes.`}`,
    '',
    'What carried over from the Keras guide: freeze the base, keep BatchNormalization in inference mode, train a small head ' +
      "first, then fine-tune the top blocks at a low learning rate. What we added for a CPU: the frozen part's outputs are " +
      'computed once and cached, so each epoch trains only what is trainable, and re-running a cell with other settings is quick.',
  ].join('\n');
}
