/**
 * The parameters cell of a notebook: defaults written in the notebook, a "small" preset for CI and quick
 * runs (`RPS_SMALL=1`), and per-parameter overrides from the environment (`RPS_<NAME>`, e.g.
 * `RPS_HEAD_EPOCHS=3` for `headEpochs`). The same notebook thus runs unchanged in Jupyter, in `npm start`
 * and in CI.
 */
import { showTable } from './display';

export type ParameterValue = string | number | boolean;

/**
 * The small preset shared by the notebooks (`RPS_SMALL=1`, `npm start -- --small`, CI): a small rendered
 * data set, a small input size and few epochs, so that all five notebooks run in a few minutes on 2 cores.
 * Only the keys a notebook declares are used.
 */
export const SMALL_PRESET: Readonly<Record<string, ParameterValue>> = Object.freeze({
  source: 'rendered',
  renderedTrain: 150,
  renderedTest: 60,
  imageSize: 96,
  headEpochs: 3,
  fineTuneEpochs: 2,
  augmentViews: 1,
  examplesPerClass: 4,
});

/** Options for `notebookParameters`. */
export interface NotebookParameterOptions<T> {
  /**
   * Values used instead of the defaults when `RPS_SMALL` is `1`/`true`; its keys must be parameters.
   * Default: the keys of `SMALL_PRESET` that the notebook declares.
   */
  small?: Partial<T>;
  /** Environment to read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Further environment variables read for a parameter when `RPS_<NAME>` is unset, e.g. `{ engine: 'RPS_BACKEND' }`. Default: none. */
  aliases?: Partial<Record<keyof T & string, string>>;
  /** Show the resolved parameters as a table. Default: true. */
  show?: boolean;
}

/** `headEpochs` -> `RPS_HEAD_EPOCHS`. */
export function parameterEnvName(key: string): string {
  return `RPS_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

function parseValue(raw: string, like: ParameterValue, envName: string): ParameterValue {
  if (typeof like === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`${envName}: expected a number, got '${raw}'`);
    return v;
  }
  if (typeof like === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error(`${envName}: expected true or false, got '${raw}'`);
  }
  return raw;
}

/** True when the small preset is requested (`RPS_SMALL=1`). */
export function smallRun(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.RPS_SMALL ?? '').trim().toLowerCase();
  return v === '1' || v === 'true' || v === 'yes';
}

/**
 * Resolves a notebook's parameters: `defaults`, then the small preset (if `RPS_SMALL=1`), then
 * `RPS_<NAME>` environment overrides, parsed by the type of the default. Returns a frozen copy and shows
 * where each value came from. Unknown keys in `small` and unparsable overrides throw, naming them.
 */
export function notebookParameters<T extends Record<string, ParameterValue>>(
  defaults: T,
  options: NotebookParameterOptions<T> = {},
): Readonly<T> {
  const env = options.env ?? process.env;
  const values: Record<string, ParameterValue> = { ...defaults };
  const source: Record<string, string> = Object.fromEntries(Object.keys(defaults).map((k) => [k, 'default']));
  if (smallRun(env)) {
    const small = options.small ?? Object.fromEntries(Object.entries(SMALL_PRESET).filter(([k]) => k in defaults));
    for (const [key, value] of Object.entries(small)) {
      if (!(key in defaults)) throw new Error(`notebookParameters: small preset has unknown parameter '${key}'`);
      if (value === undefined) continue;
      values[key] = value as ParameterValue;
      source[key] = 'RPS_SMALL';
    }
  }
  for (const key of Object.keys(defaults)) {
    const alias = options.aliases?.[key as keyof T & string];
    const envName = env[parameterEnvName(key)] === undefined && alias ? alias : parameterEnvName(key);
    const raw = env[envName];
    if (raw === undefined) continue;
    values[key] = parseValue(raw, defaults[key], envName);
    source[key] = envName;
  }
  if (options.show ?? true) {
    showTable(
      Object.keys(defaults).map((k) => ({ parameter: k, value: values[k], from: source[k] })),
      { caption: 'Parameters' },
    );
  }
  return Object.freeze(values) as Readonly<T>;
}
