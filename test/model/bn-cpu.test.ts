import { batchNormInvariantSuite } from './bn-invariants';

batchNormInvariantSuite('cpu', () => undefined);
