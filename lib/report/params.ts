/**
 * The parameters cell of a notebook. Every notebook gets every experiment parameter (lib/experiment/parameters.ts,
 * one definition for the CLI, the notebooks and `npm start -- --set`); a notebook declares only the values it
 * changes and its own notebook parameters (e.g. how many examples a figure shows). Order, lowest first: the
 * shared defaults, the notebook's declarations, the small preset (`RPS_SMALL=1`), the environment (`RPS_<NAME>`,
 * which `npm start -- --set name=value` sets). The same notebook thus runs unchanged in Jupyter, `npm start` and CI.
 */
import {
  isParameterName,
  parametersFromEnv,
  parameterEnvName,
  PARAMETER_NAMES,
  PARAMETERS,
  resolveParameters,
  SMALL_ENV,
  SMALL_PRESET,
  smallPresetLayer,
  smallRun,
  type ExperimentParameters,
  type ParameterValue,
} from '../experiment/parameters';
import { showTable } from './display';

/** Options for `notebookParameters`. */
export interface NotebookParameterOptions {
  /** Environment to read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Show the resolved parameters as a table. Default: true. */
  show?: boolean;
}

/** Parses an environment value of a notebook parameter by the type of its declared value; throws naming the variable. */
export function parseNotebookValue(raw: string, like: ParameterValue, origin: string): ParameterValue {
  if (typeof like === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`${origin}: expected a number, got '${raw}'`);
    return v;
  }
  if (typeof like === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error(`${origin}: expected true or false, got '${raw}'`);
  }
  return raw;
}

/**
 * Resolves a notebook's parameters: every experiment parameter plus the notebook's own (`declared` keys that are
 * not experiment parameters), and shows where each value came from. Declared experiment parameters are checked
 * against their definitions; a bad value throws naming it and where it came from. Returns a frozen object.
 */
export function notebookParameters<L extends Record<string, ParameterValue>>(
  declared: L = {} as L,
  options: NotebookParameterOptions = {},
): Readonly<ExperimentParameters & L> {
  const env = options.env ?? process.env;
  const shared = Object.fromEntries(Object.entries(declared).filter(([k]) => isParameterName(k)));
  const local: Record<string, ParameterValue> = Object.fromEntries(Object.entries(declared).filter(([k]) => !isParameterName(k)));
  const resolved = resolveParameters([{ from: 'notebook', values: shared }, smallPresetLayer(env), parametersFromEnv(env)]);
  const localFrom: Record<string, string> = Object.fromEntries(Object.keys(local).map((k) => [k, 'notebook']));
  if (smallRun(env)) {
    for (const [k, v] of Object.entries(SMALL_PRESET)) {
      if (k in local) {
        local[k] = v;
        localFrom[k] = SMALL_ENV;
      }
    }
  }
  for (const k of Object.keys(local)) {
    const variable = parameterEnvName(k);
    const raw = env[variable];
    if (raw === undefined) continue;
    local[k] = parseNotebookValue(raw, local[k], variable);
    localFrom[k] = variable;
  }
  if (options.show ?? true) {
    showTable(
      [
        ...Object.keys(local).map((k) => ({ parameter: k, value: local[k], from: localFrom[k], meaning: 'this notebook' })),
        ...PARAMETER_NAMES.map((k) => ({
          parameter: k,
          value: resolved.values[k] ?? `(${PARAMETERS[k].defaultText})`,
          from: resolved.from[k],
          meaning: PARAMETERS[k].help,
        })),
      ],
      { caption: 'Parameters: to change one, add it to the object above (or set RPS_<NAME> in the environment) and re-run' },
    );
  }
  return Object.freeze({ ...resolved.values, ...local }) as Readonly<ExperimentParameters & L>;
}
