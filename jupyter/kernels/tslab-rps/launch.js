#!/usr/bin/env node
// @ts-check
/**
 * Starts the project's tslab kernel for Jupyter (kernel.json runs `node launch.js --config-path <file>`).
 *
 * - The working directory becomes the project root: tslab compiles and resolves imports from there, so a
 *   notebook imports `./lib/index` the same way in Jupyter and in `npm start` (nbconvert would otherwise
 *   start the kernel in notebooks/).
 * - tslab comes from this project's node_modules, not a global install.
 * - tslab only prints an unhandled rejection or uncaught exception into whatever cell runs (nbconvert
 *   even exits 0 when it happens after a cell ended). When RPS_KERNEL_FAULT_LOG names a file, each such
 *   fault is also appended there as one JSON line, so CI can fail on it (scripts/notebooks/jupyter-ci.sh).
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');
const configIndex = process.argv.indexOf('--config-path');
const configPath = configIndex >= 0 ? process.argv[configIndex + 1] : undefined;
if (!configPath) {
  console.error('launch.js: expected --config-path <connection file> (Jupyter passes it; see kernel.json)');
  process.exit(2);
}
process.chdir(root);

const faultLog = process.env.RPS_KERNEL_FAULT_LOG;
if (faultLog) {
  /** @param {string} kind @param {unknown} reason */
  const record = (kind, reason) => {
    const text = reason instanceof Error ? String(reason.stack || reason.message) : String(reason);
    const line = JSON.stringify({ kind, notebook: process.env.RPS_NOTEBOOK ?? null, time: new Date().toISOString(), text });
    fs.appendFileSync(faultLog, line + '\n');
  };
  // tslab's heartbeat loop can echo one last ping after shutdown closed the socket ("Socket is closed",
  // thrown from tslab/dist/jupyter.js): a race inside tslab at shutdown, not a fault of the notebook.
  /** @param {unknown} reason */
  const isShutdownRace = (reason) =>
    reason instanceof Error && reason.message === 'Socket is closed' && /tslab[\\/]dist[\\/]jupyter\.js/.test(String(reason.stack));
  process.on('unhandledRejection', (reason) => {
    if (!isShutdownRace(reason)) record('unhandledRejection', reason);
  });
  process.on('uncaughtException', (err) => {
    if (!isShutdownRace(err)) record('uncaughtException', err);
  });
}

// enableFindLocal: false, since this already is the project's own tslab.
require(path.join(root, 'node_modules', 'tslab', 'dist', 'main.js')).startKernel({
  configPath,
  enableFindLocal: false,
  jsKernel: false,
  globalVersion: require(path.join(root, 'node_modules', 'tslab', 'package.json')).version,
});
