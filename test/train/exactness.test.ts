import { cachedEqualsPlainTest } from './exactness';

for (const engine of ['cpu', 'wasm'] as const) cachedEqualsPlainTest(engine, 1e-4, engine === 'cpu');
