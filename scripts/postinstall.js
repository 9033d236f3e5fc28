#!/usr/bin/env node
// Says which native TensorFlow packages installed: npm skips a failed optional dependency silently.
for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
  let ok = false;
  try {
    require.resolve(`${pkg}/package.json`);
    ok = true;
  } catch {}
  if (!ok) {
    console.warn(`rps-transfer: optional ${pkg} is not installed (its libtensorflow download failed or was skipped); ` +
      `the wasm engine will be used. See README "Engines".`);
  }
}
