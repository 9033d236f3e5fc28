/** One measurement of a benchmark, as the runner (bench/run.ts) prints and saves it. */
export interface BenchResult {
  /** The benchmark module, e.g. `engine`. */
  benchmark: string;
  /** What was measured within it, e.g. `wasm 128px batch 32 forward`. */
  case: string;
  /** The quantity, e.g. `throughput`, `time`, `ratio`. */
  metric: string;
  value: number;
  /** e.g. `img/s`, `ms`, `x`. */
  unit: string;
  note?: string;
}

/** Options every benchmark module receives. */
export interface BenchOptions {
  /** Short run (few repetitions, small cases) for a quick look or CI. */
  quick: boolean;
}

/** What a bench/<name>.ts module exports. */
export interface BenchModule {
  run(opts: BenchOptions): Promise<BenchResult[]>;
}
