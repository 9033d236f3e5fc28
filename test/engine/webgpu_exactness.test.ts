/**
 * The cached-vs-plain exactness test (test/train/exactness.ts) on webgpu, with the tolerance of cpu and wasm: the
 * two paths do the same float32 arithmetic in another order (the folded prefix as fused conv + bias, the plain one as
 * conv, then batch normalisation; GPU matmul tiles sum in their own order), which moves results by rounding only,
 * far below 1e-4 relative; a larger gap would mean the paths took different steps.
 */
import { cachedEqualsPlainTest } from '../train/exactness';
import { describeWebGpu } from './webgpu_group';

describeWebGpu('webgpu: cached path = plain path', () => cachedEqualsPlainTest('webgpu', 1e-4, false));
