/**
 * Progress reporting for the training loop. In a terminal a single status line is rewritten after every
 * batch (`\r`); in a notebook (or any non-TTY output, e.g. a log file) one plain line is printed per epoch,
 * because a notebook's output area shows every `\r` update as a new line.
 */
import type { BatchProgress, EpochRecord, TrainingPhase } from './types';

/** Hooks the training loop calls. All optional; a notebook can pass its own to draw live charts. */
export interface TrainingCallbacks {
  onPhaseStart?(info: { phase: TrainingPhase; epochs: number; batches: number; samples: number; firstEpoch: number }): void;
  onBatchEnd?(progress: BatchProgress): void;
  onEpochEnd?(record: EpochRecord, info: { phaseEpochs: number; etaSeconds: number }): void;
  /** While activations of the frozen part are computed (`label` says which): images done of total. */
  onExtractProgress?(info: { label: string; done: number; total: number }): void;
  /** Warnings and notices (early stopping, a non-finite loss), already phrased for people. */
  onMessage?(message: string): void;
  onPhaseEnd?(info: { phase: TrainingPhase; records: EpochRecord[]; stopReason: string; seconds: number }): void;
}

export const PROGRESS_MODES = ['auto', 'terminal', 'lines', 'silent'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];
/** A status line in a terminal, a line per epoch elsewhere. */
export const DEFAULT_PROGRESS: ProgressMode = 'auto';

export interface ProgressOptions {
  /** `terminal`: one rewritten status line; `lines`: one line per epoch; `auto`: terminal when stdout is a TTY. Default 'auto'. */
  mode?: ProgressMode;
  /** Where lines go. Default: process.stdout. */
  write?: (text: string) => void;
  /** Whether output is a TTY, for `auto`. Default: process.stdout.isTTY. */
  isTTY?: boolean;
}

/** Formats seconds as `1m05s` / `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One line describing an epoch, as printed in `lines` mode. */
export function formatEpochLine(record: EpochRecord, phaseEpochs: number, etaSeconds: number, phaseEpoch: number): string {
  const val =
    record.valLoss === undefined ? '' : ` - val_loss ${record.valLoss.toFixed(4)} - val_acc ${(record.valAccuracy ?? NaN).toFixed(4)}`;
  return (
    `[${record.phase}] epoch ${record.epoch} (${phaseEpoch}/${phaseEpochs}) - ${record.seconds.toFixed(1)}s - ` +
    `loss ${record.loss.toFixed(4)} - acc ${record.accuracy.toFixed(4)}${val} - lr ${record.lr.toExponential(2)}` +
    (phaseEpoch < phaseEpochs ? ` - ${formatDuration(etaSeconds)} left` : '')
  );
}

/** Builds the default progress hooks for a terminal or a notebook. */
export function createProgressCallbacks(options: ProgressOptions = {}): TrainingCallbacks {
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const isTTY = options.isTTY ?? Boolean(process.stdout.isTTY);
  const asked = options.mode ?? DEFAULT_PROGRESS;
  const mode = asked === 'auto' ? (isTTY ? 'terminal' : 'lines') : asked;
  if (mode === 'silent') return {};
  let statusShown = false;
  let lastDraw = 0;
  const clearStatus = () => {
    if (statusShown) write('\r\x1b[2K');
    statusShown = false;
  };
  let phaseEpoch = 0;
  return {
    onPhaseStart(info) {
      phaseEpoch = 0;
      write(`[${info.phase}] ${info.epochs} epochs x ${info.batches} batches (${info.samples} samples), from epoch ${info.firstEpoch}\n`);
    },
    onBatchEnd(p) {
      if (mode !== 'terminal') return;
      const now = Date.now();
      // Redrawing more than ~10 times a second only costs time.
      if (p.batch < p.batches && now - lastDraw < 100) return;
      lastDraw = now;
      write(
        `\r\x1b[2K[${p.phase}] epoch ${p.phaseEpoch}/${p.phaseEpochs} batch ${p.batch}/${p.batches} - ` +
          `loss ${p.loss.toFixed(4)} - acc ${p.accuracy.toFixed(4)} - ${formatDuration(p.etaSeconds)} left`,
      );
      statusShown = true;
    },
    onEpochEnd(record, info) {
      phaseEpoch += 1;
      clearStatus();
      write(formatEpochLine(record, info.phaseEpochs, info.etaSeconds, phaseEpoch) + '\n');
    },
    onExtractProgress(info) {
      if (mode !== 'terminal') return;
      const now = Date.now();
      if (info.done < info.total && now - lastDraw < 100) return;
      lastDraw = now;
      write(`\r\x1b[2Kcomputing activations at ${info.label}: ${info.done}/${info.total} images`);
      statusShown = true;
    },
    onMessage(message) {
      clearStatus();
      write(message + '\n');
    },
    onPhaseEnd(info) {
      clearStatus();
      write(`[${info.phase}] done in ${formatDuration(info.seconds)} (${info.stopReason})\n`);
    },
  };
}

/** Calls every hook set in `list`, in order. */
export function combineCallbacks(...list: (TrainingCallbacks | undefined)[]): TrainingCallbacks {
  const hooks = list.filter((c): c is TrainingCallbacks => Boolean(c));
  return {
    onPhaseStart: (i) => hooks.forEach((h) => h.onPhaseStart?.(i)),
    onBatchEnd: (p) => hooks.forEach((h) => h.onBatchEnd?.(p)),
    onExtractProgress: (i) => hooks.forEach((h) => h.onExtractProgress?.(i)),
    onEpochEnd: (r, i) => hooks.forEach((h) => h.onEpochEnd?.(r, i)),
    onMessage: (m) => hooks.forEach((h) => h.onMessage?.(m)),
    onPhaseEnd: (i) => hooks.forEach((h) => h.onPhaseEnd?.(i)),
  };
}
