/**
 * `Slice` for wasm. wasm's own kernel first copies the whole input out of the wasm heap into a new JavaScript
 * buffer (`readSync`), then copies the slice from there; for a large activation that allocation and copy cost
 * far more than the slice (README's kernel table has the figures). This one copies the slice's contiguous runs straight from the
 * input's heap view into the output's. Strings go to wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { Fallback } from './reduce';

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

/** A `Slice` kernel function that copies from heap views; string tensors go to `fallback`. */
export function heapSliceKernel(fallback: Fallback): Fallback {
  return (args) => {
    const x = args.inputs.x;
    if (!x || x.dtype === 'string') return fallback(args);
    const backend = args.backend as WasmBackend;
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [start, extent] = tf.slice_util.parseSliceParams(x as tf.TensorInfo & tf.Tensor, begin, size);
    // Allocate first: allocating can grow the wasm memory, which detaches views taken before it.
    const out = backend.makeOutput(extent, x.dtype);
    const count = tf.util.sizeFromShape(extent);
    if (count === 0) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const rank = x.shape.length;
    if (rank === 0) {
      dst[0] = src[0];
      return out;
    }
    const strides = [...tf.util.computeStrides(x.shape), 1];
    const run = extent[rank - 1];
    const index = new Array<number>(rank - 1).fill(0);
    for (let written = 0; written < count; written += run) {
      let from = start[rank - 1];
      for (let d = 0; d < rank - 1; d++) from += (start[d] + index[d]) * strides[d];
      dst.set(src.subarray(from, from + run), written);
      for (let d = rank - 2; d >= 0; d--) {
        if (++index[d] < extent[d]) break;
        index[d] = 0;
      }
    }
    return out;
  };
}
