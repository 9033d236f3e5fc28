/**
 * The experiment's parameters, defined once: name, type, constraint, default and a line of help for every knob.
 * The CLI's flags (`--head-epochs`), the notebooks' parameters cells, `npm start -- --set headEpochs=3` and the
 * environment (`RPS_HEAD_EPOCHS=3`) are all derived from this table, so one concept has one word everywhere:
 * the flag is the name in kebab case, the environment variable `RPS_` + the name in upper snake case.
 * Defaults are imported from the modules that own them.
 */
import { DEFAULT_ENGINE, ENGINE_ENV_ALIAS, ENGINE_NAMES, type EngineChoice } from '../engine/engine';
import { DEFAULT_AUGMENT, FILL_MODES, type AugmentOptions, type FillMode } from '../data/augment';
import { DEFAULT_TTA } from '../data/tta';
import { SPLIT_DESIGNS, type SplitDesign } from '../data/render/params';
import { DEFAULT_DATA } from '../data/load';
import { RENDER_DEFAULTS } from '../data/rendered';
import { DEFAULT_BASE } from '../model/registry';
import { CLASSIFIER_DEFAULTS } from '../model/surgery';
import { EARLY_STOPPING_DEFAULTS } from '../train/early_stopping';
import { DEFAULT_LABEL_SMOOTHING } from '../train/loss';
import { FINE_TUNE_DEFAULTS, HEAD_DEFAULTS, PHASE_DEFAULTS } from '../train/phases';
import { DEFAULT_OPTIMIZER, OPTIMIZERS, type OptimizerName } from '../train/optimizer';
import { SESSION_DEFAULTS } from '../train/session';
import { DEFAULT_LR_SCHEDULE, parseLrSchedule } from '../train/schedule';
import { DEFAULT_SEED } from '../util/random';

/** Every knob of an experiment. Groups (see `PARAMETERS`) say what each one changes. */
export interface ExperimentParameters {
  data: string;
  mixRendered: number | 'auto';
  renderedTrain: number;
  renderedTest: number;
  splitDesign: SplitDesign;
  base: string;
  imageSize: number;
  dropout: number;
  hiddenUnits: number;
  seed: number;
  validationSplit: number;
  augment: boolean;
  flip: boolean;
  rotation: number;
  zoom: number;
  brightness: number;
  contrast: number;
  translate: number;
  scale: number;
  hue: number;
  saturation: number;
  blur: number;
  erasing: number;
  fill: FillMode;
  augmentViews: number;
  headEpochs: number;
  headLearningRate: number;
  headOptimizer: OptimizerName;
  fineTuneFrom: string | number;
  fineTuneEpochs: number;
  /** Undefined: `fineTuneLearningRate(headLearningRate)` (a tenth of it). */
  fineTuneLearningRate: number | undefined;
  fineTuneOptimizer: OptimizerName;
  batchSize: number;
  labelSmoothing: number;
  patience: number;
  lrSchedule: string;
  tta: number;
  engine: EngineChoice;
  /** Undefined: the number of cores on the wasm and cpu engines (see lib/train/extract.ts). */
  workers: number | undefined;
  /** Undefined: `defaultTrainWorkers` (lib/train/parallel.ts). */
  trainWorkers: number | undefined;
  /** Undefined: env RPS_CACHE_DIR, else `<project>/data`. */
  cacheDir: string | undefined;
}

export type ParameterName = keyof ExperimentParameters;
export type ParameterValue = string | number | boolean;

/**
 * What a parameter changes, which decides what a later notebook must agree on to continue from an earlier one:
 * `data`, `model` and `session` parameters identify an experiment (its data, network, validation split and
 * augmentation); `head` and `fineTune` only shape a phase's training; `evaluation` how the test split is scored;
 * `run` says where and how it runs.
 */
export type ParameterGroup = 'data' | 'model' | 'session' | 'head' | 'fineTune' | 'training' | 'evaluation' | 'run';
export const IDENTITY_GROUPS: readonly ParameterGroup[] = ['data', 'model', 'session'];

export interface ParameterSpec {
  kind: 'string' | 'integer' | 'number' | 'boolean' | 'choice' | 'block' | 'schedule' | 'count-or-auto';
  group: ParameterGroup;
  /** The default value; undefined where the default is worked out when used (`defaultText` says how). */
  default: ParameterValue | undefined;
  defaultText?: string;
  /** One line of help (CLI, README, the parameters table). */
  help: string;
  /** The placeholder in `--flag <value>`. */
  value?: string;
  /** Lower bound; `minExclusive` makes it open (a rate must be > 0). */
  min?: number;
  minExclusive?: boolean;
  /** Upper bound; `maxExclusive` makes it open. */
  max?: number;
  maxExclusive?: boolean;
  multipleOf?: number;
  choices?: readonly string[];
  /** Older flag names still accepted (without the leading dashes). */
  flagAliases?: readonly string[];
  /** Older environment variable names, read when the canonical one is unset. */
  envAliases?: readonly string[];
}

const augment = (key: Exclude<keyof AugmentOptions, 'fill'>, help: string, max?: number): ParameterSpec =>
  typeof DEFAULT_AUGMENT[key] === 'boolean'
    ? { kind: 'boolean', group: 'session', default: DEFAULT_AUGMENT[key] as boolean, help }
    : { kind: 'number', group: 'session', default: DEFAULT_AUGMENT[key] as number, min: 0, max, help, value: 'f' };

/** The table. Order: as `--help` and the parameters table show them. */
export const PARAMETERS: { readonly [K in ParameterName]: ParameterSpec } = {
  data: {
    kind: 'string',
    group: 'data',
    default: DEFAULT_DATA,
    value: 'source',
    help: "'auto' (TFDS when cached or downloadable, else the rendered set), 'tfds', 'rendered', or a folder/zip of <class>/<image> (or holding rps/ and rps-test-set/)",
  },
  mixRendered: {
    kind: 'count-or-auto',
    group: 'data',
    // Real hands plus as many resolution-matched rendered ones generalised best to other people's hands (README).
    default: 'auto',
    min: 0,
    value: 'n|auto',
    help: "real data with rock/paper/scissors folders: rendered hands per class added to the training split only, at the median size of its images; 'auto': as many as its largest class has, 0: none",
  },
  renderedTrain: { kind: 'integer', group: 'data', default: RENDER_DEFAULTS.train, min: 3, value: 'n', help: 'rendered data: training images', flagAliases: ['render-train'] },
  renderedTest: { kind: 'integer', group: 'data', default: RENDER_DEFAULTS.test, min: 3, value: 'n', help: 'rendered data: test images', flagAliases: ['render-test'] },
  splitDesign: {
    kind: 'choice',
    group: 'data',
    default: RENDER_DEFAULTS.splitDesign,
    choices: SPLIT_DESIGNS,
    value: 'design',
    help: "rendered data: 'shifted' draws test hands from held-out ranges (as TFDS shows other hands), 'iid' from the training ranges",
  },
  base: {
    kind: 'string',
    group: 'model',
    default: DEFAULT_BASE,
    value: 'id',
    help: "pretrained base: 'auto' (the online ImageNet MobileNetV2 when cached or reachable, else the embedded one), 'embedded', mobilenet_v2_<alpha>, mobilenet_v1_<alpha>, or a model.json path or URL",
  },
  imageSize: {
    kind: 'integer',
    group: 'model',
    // 128, not the guide's 160: fine-tuning costs 1.5x more per image at 160 px, which a 2-core CPU feels most.
    default: 128,
    min: 32,
    multipleOf: 32,
    value: 'px',
    help: 'side of the square input in pixels (a multiple of 32: MobileNet strides)',
  },
  dropout: { kind: 'number', group: 'model', default: CLASSIFIER_DEFAULTS.dropout, min: 0, max: 1, maxExclusive: true, value: 'rate', help: 'head: dropout before the output layer' },
  hiddenUnits: { kind: 'integer', group: 'model', default: CLASSIFIER_DEFAULTS.hiddenUnits, min: 0, value: 'n', help: 'head: units of a hidden Dense layer, 0 = none' },
  seed: { kind: 'integer', group: 'model', default: DEFAULT_SEED, min: 0, value: 'n', help: 'one seed for data order, validation split, augmentation, initializers and dropout' },
  validationSplit: {
    kind: 'number',
    group: 'session',
    default: SESSION_DEFAULTS.validationSplit,
    min: 0,
    max: 1,
    maxExclusive: true,
    value: 'f',
    help: 'fraction of the training images held out for validation and early stopping',
  },
  augment: { kind: 'boolean', group: 'session', default: true, help: 'augment the training images (the options below); false turns all of it off' },
  flip: augment('flip', 'augmentation: random horizontal flip'),
  rotation: augment('rotation', 'augmentation: random rotation, as a fraction of a full turn (0.2 = up to ±72°)'),
  zoom: augment('zoom', 'augmentation: random zoom in or out by up to this fraction'),
  brightness: augment('brightness', 'augmentation: random brightness change, as a fraction of the full range'),
  contrast: augment('contrast', 'augmentation: random contrast change, as a fraction'),
  translate: augment('translate', 'augmentation: random shift along x and y, as a fraction of the side', 1),
  scale: augment('scale', 'augmentation: random per-axis scale (changes the aspect ratio), as a fraction', 1),
  hue: augment('hue', 'augmentation: random hue turn, as a fraction of the colour wheel (luma kept)', 0.5),
  saturation: augment('saturation', 'augmentation: random saturation change, as a fraction', 1),
  blur: augment('blur', 'augmentation: random Gaussian blur up to this sigma in pixels', 8),
  erasing: augment('erasing', 'augmentation: probability of erasing a random rectangle (random erasing)', 1),
  fill: { kind: 'choice', group: 'session', default: DEFAULT_AUGMENT.fill, choices: FILL_MODES, value: 'mode', help: 'augmentation: how warps fill uncovered pixels' },
  augmentViews: { kind: 'integer', group: 'session', default: SESSION_DEFAULTS.augmentViews, min: 1, value: 'n', help: 'augmented views per training image, computed once and cached' },
  headEpochs: { kind: 'integer', group: 'head', default: HEAD_DEFAULTS.epochs, min: 1, value: 'n', help: 'head training: epochs', flagAliases: ['epochs'] },
  headLearningRate: { kind: 'number', group: 'head', default: HEAD_DEFAULTS.learningRate, min: 0, minExclusive: true, value: 'rate', help: 'head training: learning rate', flagAliases: ['lr'] },
  headOptimizer: { kind: 'choice', group: 'head', default: DEFAULT_OPTIMIZER, choices: OPTIMIZERS, value: 'name', help: 'head training: optimizer', flagAliases: ['optimizer'] },
  fineTuneFrom: {
    kind: 'block',
    group: 'fineTune',
    default: FINE_TUNE_DEFAULTS.from,
    value: 'block',
    help: 'fine-tuning: first block to unfreeze, a block name (block_11) or index (11), or a layer name inside a block',
  },
  fineTuneEpochs: { kind: 'integer', group: 'fineTune', default: FINE_TUNE_DEFAULTS.epochs, min: 0, value: 'n', help: 'fine-tuning: epochs, 0 = no fine-tuning' },
  fineTuneLearningRate: {
    kind: 'number',
    group: 'fineTune',
    default: undefined,
    defaultText: `headLearningRate × ${FINE_TUNE_DEFAULTS.lrFactor}`,
    min: 0,
    minExclusive: true,
    value: 'rate',
    help: 'fine-tuning: learning rate',
    flagAliases: ['fine-tune-lr'],
  },
  fineTuneOptimizer: { kind: 'choice', group: 'fineTune', default: DEFAULT_OPTIMIZER, choices: OPTIMIZERS, value: 'name', help: 'fine-tuning: optimizer' },
  batchSize: { kind: 'integer', group: 'training', default: PHASE_DEFAULTS.batchSize, min: 1, value: 'n', help: 'images per training step' },
  labelSmoothing: {
    kind: 'number',
    group: 'training',
    default: DEFAULT_LABEL_SMOOTHING,
    min: 0,
    max: 1,
    maxExclusive: true,
    value: 'a',
    help: 'label smoothing of the training loss in both phases (targets y(1-a) + a/K, as Keras)',
  },
  patience: { kind: 'integer', group: 'training', default: EARLY_STOPPING_DEFAULTS.patience, min: 0, value: 'n', help: 'early stopping: epochs without a better val_loss (best weights restored), 0 = off' },
  lrSchedule: { kind: 'schedule', group: 'training', default: DEFAULT_LR_SCHEDULE, value: 'spec', help: 'learning-rate schedule within each phase: constant | step[:every[:factor]] | cosine[:minFactor]' },
  tta: {
    kind: 'integer',
    group: 'evaluation',
    default: DEFAULT_TTA,
    min: 1,
    value: 'n',
    help: 'test-time augmentation: probabilities averaged over this many views of each test image (1 = the image alone; 2 adds its mirror image)',
  },
  engine: {
    kind: 'choice',
    group: 'run',
    default: DEFAULT_ENGINE,
    choices: ['auto', ...ENGINE_NAMES],
    value: 'name',
    help: 'TensorFlow.js engine (auto tries them in the order listed)',
    flagAliases: ['backend'],
    envAliases: [ENGINE_ENV_ALIAS],
  },
  workers: { kind: 'integer', group: 'run', default: undefined, defaultText: 'the cores on wasm/cpu, 1 on GPU and native engines', min: 1, value: 'n', help: 'worker threads computing activations' },
  trainWorkers: {
    kind: 'integer',
    group: 'run',
    default: undefined,
    defaultText: '2 on wasm/cpu, 1 on GPU and native engines',
    min: 1,
    value: 'n',
    help: 'parts each training step is split across (gradients averaged); the number changes dropout masks',
  },
  cacheDir: { kind: 'string', group: 'run', default: undefined, defaultText: 'env RPS_CACHE_DIR, else data/', value: 'dir', help: 'cache root (data, pixels, bases, activations, runs)' },
};

export const PARAMETER_NAMES = Object.keys(PARAMETERS) as ParameterName[];

/** Every parameter at its default. */
export const DEFAULT_PARAMETERS: Readonly<ExperimentParameters> = Object.freeze(
  Object.fromEntries(PARAMETER_NAMES.map((k) => [k, PARAMETERS[k].default])) as unknown as ExperimentParameters,
);

/**
 * The small preset (`RPS_SMALL=1`, `--small`, CI): a small rendered data set, a small input and few epochs, so
 * all five notebooks run in a few minutes on 2 cores. Keys that are not experiment parameters are notebook
 * parameters (used by the notebooks that declare them).
 */
export const SMALL_PRESET: Readonly<Partial<ExperimentParameters> & Record<string, ParameterValue>> = Object.freeze({
  data: 'rendered',
  renderedTrain: 150,
  renderedTest: 60,
  imageSize: 96,
  headEpochs: 3,
  fineTuneEpochs: 2,
  augmentViews: 1,
  examplesPerClass: 4,
});

/** Environment variable that selects the small preset. */
export const SMALL_ENV = 'RPS_SMALL';

/** True when the small preset is requested (`RPS_SMALL=1`). */
export function smallRun(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env[SMALL_ENV] ?? '').trim().toLowerCase();
  return v === '1' || v === 'true' || v === 'yes';
}

export function isParameterName(name: string): name is ParameterName {
  return Object.prototype.hasOwnProperty.call(PARAMETERS, name);
}

/** `headEpochs` -> `RPS_HEAD_EPOCHS`. */
export function parameterEnvName(name: string): string {
  return `RPS_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** `headEpochs` -> `head-epochs` (the flag without its dashes). */
export function parameterFlagName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function constraintText(spec: ParameterSpec): string {
  switch (spec.kind) {
    case 'integer': {
      const parts = [`an integer >= ${spec.min ?? 0}`];
      if (spec.multipleOf) parts.push(`a multiple of ${spec.multipleOf}`);
      return parts.join(' and ');
    }
    case 'number':
      if (spec.max !== undefined) return `a number in ${spec.minExclusive ? '(' : '['}${spec.min ?? '-inf'}, ${spec.max}${spec.maxExclusive ? ')' : ']'}`;
      if (spec.min === 0 && spec.minExclusive) return 'a positive number';
      return `a number ${spec.minExclusive ? '>' : '>='} ${spec.min ?? '-inf'}`;
    case 'boolean':
      return 'true or false';
    case 'choice':
      return `one of ${(spec.choices ?? []).join(', ')}`;
    case 'block':
      return 'a block name such as block_11, a block index such as 11, or a layer name';
    case 'schedule':
      return 'constant, step[:every[:factor]] or cosine[:minFactor]';
    case 'count-or-auto':
      return `'auto' or an integer >= ${spec.min ?? 0}`;
    case 'string':
      return 'a non-empty text';
  }
}

/** What `name` expects, in words (for messages and help). */
export function parameterConstraint(name: ParameterName): string {
  return constraintText(PARAMETERS[name]);
}

function fail(origin: string, spec: ParameterSpec, got: unknown): never {
  const shown = typeof got === 'string' ? `'${got}'` : String(got);
  throw new Error(`${origin}: expected ${constraintText(spec)}, got ${shown}`);
}

/**
 * Checks a typed value of `name` (from code, a notebook cell, or a parsed string); returns it, normalised
 * (a numeric `fineTuneFrom` text becomes a number). Throws naming `origin` (default: the name) and what was
 * expected. `undefined` is accepted where the parameter has no fixed default.
 */
export function checkParameter<K extends ParameterName>(name: K, value: unknown, origin: string = name): ExperimentParameters[K] {
  const spec = PARAMETERS[name];
  if (value === undefined && spec.default === undefined) return undefined as ExperimentParameters[K];
  switch (spec.kind) {
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(origin, spec, value);
      if (spec.kind === 'integer' && !Number.isInteger(value)) fail(origin, spec, value);
      const min = spec.min ?? -Infinity;
      if (spec.minExclusive ? value <= min : value < min) fail(origin, spec, value);
      if (spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max)) fail(origin, spec, value);
      if (spec.multipleOf && value % spec.multipleOf !== 0) fail(origin, spec, value);
      return value as ExperimentParameters[K];
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail(origin, spec, value);
      return value as ExperimentParameters[K];
    case 'choice':
      if (typeof value !== 'string' || !(spec.choices ?? []).includes(value)) fail(origin, spec, value);
      return value as ExperimentParameters[K];
    case 'block':
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value as ExperimentParameters[K];
      if (typeof value !== 'string' || !value.trim()) fail(origin, spec, value);
      return (/^\d+$/.test(value.trim()) ? Number(value.trim()) : value.trim()) as ExperimentParameters[K];
    case 'count-or-auto':
      if (value === 'auto') return value as ExperimentParameters[K];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < (spec.min ?? 0)) fail(origin, spec, value);
      return value as ExperimentParameters[K];
    case 'schedule':
      if (typeof value !== 'string') fail(origin, spec, value);
      try {
        parseLrSchedule(value);
      } catch (err) {
        throw new Error(`${origin}: ${(err as Error).message}`);
      }
      return value as ExperimentParameters[K];
    case 'string':
      if (typeof value !== 'string' || !value.trim()) fail(origin, spec, value);
      return value as ExperimentParameters[K];
  }
}

/** Parses the text form of `name` (a flag, an environment variable, `--set`) and checks it; throws naming `origin`. */
export function parseParameter<K extends ParameterName>(name: K, raw: string, origin: string): ExperimentParameters[K] {
  const spec = PARAMETERS[name];
  const text = raw.trim();
  let value: unknown = text;
  if (spec.kind === 'count-or-auto' && text !== 'auto') {
    value = text === '' || !/^-?\d+$/.test(text) ? NaN : Number(text);
    if (!Number.isFinite(value as number)) fail(origin, spec, raw);
  } else if (spec.kind === 'integer' || spec.kind === 'number') {
    value = text === '' ? NaN : Number(text);
    if (!Number.isFinite(value as number)) fail(origin, spec, raw);
  } else if (spec.kind === 'boolean') {
    const v = text.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) value = true;
    else if (['0', 'false', 'no', 'off'].includes(v)) value = false;
    else fail(origin, spec, raw);
  }
  return checkParameter(name, value, origin);
}

/** One layer of values, applied over the ones below it; `origins` names where each value came from (for messages). */
export interface ParameterLayer {
  /** Shown in the parameters table ("default", "RPS_SMALL", "notebook", "--set", an environment variable...). */
  from: string;
  values: Readonly<Record<string, unknown>>;
  /** Per-name origin for error messages (default `from`). */
  origins?: Readonly<Record<string, string>>;
}

export interface ResolvedParameters {
  values: ExperimentParameters;
  /** Where each value came from (`default` or a layer's `from`). */
  from: Record<ParameterName, string>;
}

/** Applies `layers` in order over the defaults, checking every value; a name that is not a parameter throws naming the layer. */
export function resolveParameters(layers: readonly ParameterLayer[]): ResolvedParameters {
  const values = { ...DEFAULT_PARAMETERS } as Record<string, unknown>;
  const from = Object.fromEntries(PARAMETER_NAMES.map((k) => [k, 'default'])) as Record<ParameterName, string>;
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer.values)) {
      if (value === undefined) continue;
      const origin = layer.origins?.[name] ?? (layer.from === name ? name : `${name} (${layer.from})`);
      if (!isParameterName(name)) throw new Error(`${origin}: unknown parameter '${name}'. Known: ${PARAMETER_NAMES.join(', ')}`);
      values[name] = checkParameter(name, value, origin);
      from[name] = layer.from;
    }
  }
  return { values: values as unknown as ExperimentParameters, from };
}

/** The parameters set in the environment (`RPS_<NAME>`, or an older alias), parsed; errors name the variable. */
export function parametersFromEnv(env: NodeJS.ProcessEnv = process.env): ParameterLayer {
  const values: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const name of PARAMETER_NAMES) {
    const candidates = [parameterEnvName(name), ...(PARAMETERS[name].envAliases ?? [])];
    const variable = candidates.find((v) => env[v] !== undefined && env[v] !== '');
    if (!variable) continue;
    values[name] = parseParameter(name, env[variable] as string, variable);
    origins[name] = variable;
  }
  return { from: 'environment', values, origins };
}

/** The small preset's experiment parameters as a layer (when `RPS_SMALL=1`), else an empty one. */
export function smallPresetLayer(env: NodeJS.ProcessEnv = process.env): ParameterLayer {
  if (!smallRun(env)) return { from: SMALL_ENV, values: {} };
  return { from: SMALL_ENV, values: Object.fromEntries(Object.entries(SMALL_PRESET).filter(([k]) => isParameterName(k))) };
}

/** The parameters that identify an experiment (`IDENTITY_GROUPS`), in table order. */
export function identityParameters(p: ExperimentParameters): Partial<ExperimentParameters> {
  return Object.fromEntries(PARAMETER_NAMES.filter((k) => IDENTITY_GROUPS.includes(PARAMETERS[k].group)).map((k) => [k, p[k]])) as Partial<ExperimentParameters>;
}

/** The augmentation the parameters ask for (false when `augment` is off). */
export function augmentationOf(p: ExperimentParameters): AugmentOptions | false {
  if (!p.augment) return false;
  const keys = Object.keys(DEFAULT_AUGMENT) as (keyof AugmentOptions)[];
  return Object.fromEntries(keys.map((k) => [k, p[k as ParameterName]])) as AugmentOptions;
}

/** The parameters as aligned `name  value` lines, defaults marked (printed at the start of a run). */
export function formatParameters(r: ResolvedParameters): string {
  const w = Math.max(...PARAMETER_NAMES.map((k) => k.length));
  return PARAMETER_NAMES.map((k) => {
    const v = r.values[k];
    const text = v === undefined ? `(${PARAMETERS[k].defaultText ?? 'default'})` : String(v);
    return `  ${k.padEnd(w)}  ${text}${r.from[k] === 'default' ? '' : `   [${r.from[k]}]`}`;
  }).join('\n');
}
