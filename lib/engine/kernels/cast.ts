/**
 * `Identity` and same-dtype `Cast` for wasm: share the data, as the `cpu` backend does, instead of copying
 * it. Tensors are immutable, so sharing is safe (wasm's own `Reshape` shares the same way). It matters for
 * training: the engine clones (Identity) every tensor it saves for backprop, and tfjs-core's `moments`
 * (BatchNormalization's batch statistics) casts its input to float32; on wasm each of those copied a whole
 * activation, which doubled a training step's memory and added a copy per saved tensor.
 */
import * as tf from '@tensorflow/tfjs';
import type { Fallback } from './reduce';

interface Backend {
  incRef(dataId: tf.DataId): void;
}

/** A `Cast` kernel function that shares data for same-dtype casts and defers real casts to `fallback`. */
export function sameDtypeCastKernel(fallback: Fallback): Fallback {
  return (args) => {
    const x = args.inputs.x;
    const { dtype } = args.attrs as { dtype: tf.DataType };
    if (!x || x.dtype !== dtype || dtype === 'string') return fallback(args);
    (args.backend as Backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  };
}

/** An `Identity` kernel function that shares the input's data (strings, kept as wasm has them, go to `fallback`). */
export function sharingIdentityKernel(fallback: Fallback): Fallback {
  return (args) => {
    const x = args.inputs.x;
    if (!x || x.dtype === 'string') return fallback(args);
    (args.backend as Backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}
