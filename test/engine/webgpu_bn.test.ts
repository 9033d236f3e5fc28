/** The Keras BatchNormalization and frozen-weight invariants (test/model/bn-invariants.ts) on webgpu, which has every conv gradient. */
import { batchNormInvariantSuite } from '../model/bn-invariants';
import { describeWebGpu } from './webgpu_group';

describeWebGpu('webgpu: BatchNormalization semantics', () => batchNormInvariantSuite('webgpu', () => undefined));
