/** Where the demo's files lie relative to its page; shared by the page's script and the Node side that serves them. */

/** The saved classifier's files (model.json, metadata.json, weights). */
export const MODEL_DIR = 'model';
/** TensorFlow.js, its wasm backend and the .wasm binaries. */
export const TFJS_DIR = 'tfjs';
