// @ts-check
/**
 * A tslab kernel without Jupyter: the child process behind `NotebookKernel` (lib/report/kernel.ts).
 *
 * Plain JavaScript on purpose: the notebook code must see exactly what it sees in Jupyter (tslab compiles
 * lib/*.ts itself), so this process must not have ts-node's require hook. It uses tslab's converter and
 * executor (not a public API; pinned tslab 1.0.22), runs with its working directory = the project root,
 * and talks to the parent over the IPC channel:
 *   parent -> child  { type: 'execute', id, code } | { type: 'close' }
 *   child -> parent  { type: 'ready' } | { type: 'stream', id, name, text } | { type: 'display', id, data }
 *                    | { type: 'done', id, ok, error? } | { type: 'fault', id, kind, text }
 * Output written after a cell finished (timers, late promises) belongs to the last cell, as in Jupyter.
 */
const util = require('node:util');
const { createConverter } = require('tslab/dist/converter');
const { createExecutor } = require('tslab/dist/executor');
const jupyter = require('tslab/dist/jupyter');

/** @type {(msg: object) => void} */
function send(msg) {
  if (process.send && process.connected) process.send(msg);
}

/** Id of the running cell, else of the last one (late output and faults are attributed to it). */
let cellId = -1;
/** @type {{ ename: string; evalue: string; traceback: string[] } | undefined} */
let cellError;

/** @param {unknown} value */
function describe(value) {
  if (value instanceof Error) {
    // Frames of tslab and of this file say nothing about the notebook's code.
    const lines = String(value.stack || value.message)
      .split('\n')
      .filter((l) => !/node_modules[\\/]tslab[\\/]|kernel-child\.js|\(node:(vm|events|internal)|node:internal/.test(l));
    return { ename: value.name || 'Error', evalue: value.message, traceback: lines };
  }
  const text = typeof value === 'string' ? value : util.inspect(value);
  return { ename: 'Error', evalue: text, traceback: [text] };
}

/** @param {'stdout' | 'stderr'} name */
function streamWriter(name) {
  /** @type {any} */
  const write = (/** @type {unknown} */ chunk, /** @type {unknown} */ encoding, /** @type {unknown} */ callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(/** @type {Uint8Array} */ (chunk)).toString('utf8');
    send({ type: 'stream', id: cellId, name, text });
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (typeof cb === 'function') cb();
    return true;
  };
  return write;
}
process.stdout.write = streamWriter('stdout');
process.stderr.write = streamWriter('stderr');

// tslab.display.* writes through this hook; in Jupyter the kernel sets it for every execute request.
jupyter.lastWriteDisplayData = (/** @type {{ data: Record<string, string> }} */ displayData) => {
  send({ type: 'display', id: cellId, data: displayData.data });
};

process.on('unhandledRejection', (reason) => {
  const d = describe(reason);
  process.stderr.write(`UnhandledPromiseRejection: ${d.traceback.join('\n')}\n`);
  send({ type: 'fault', id: cellId, kind: 'unhandledRejection', text: d.traceback.join('\n') });
});
process.on('uncaughtException', (err) => {
  const d = describe(err);
  process.stderr.write(`UncaughtException: ${d.traceback.join('\n')}\n`);
  send({ type: 'fault', id: cellId, kind: 'uncaughtException', text: d.traceback.join('\n') });
});

/** @type {any} */
let nodeConverter;
const convs = {
  get node() {
    nodeConverter ??= createConverter({ isJS: false, isBrowser: false });
    return nodeConverter;
  },
  get browser() {
    throw new Error('browser-mode cells (//%browser) are not supported by the Node notebook runner');
  },
  close() {
    if (nodeConverter) nodeConverter.close();
  },
};

const executor = createExecutor(process.cwd(), /** @type {any} */ (convs), {
  log: (/** @type {unknown[]} */ ...args) => process.stdout.write(util.format(...args) + '\n'),
  // The executor reports a thrown error or a compile diagnostic here, then returns false.
  error: (/** @type {unknown[]} */ ...args) => {
    const d = args.length === 1 ? describe(args[0]) : describe(util.format(...args));
    if (cellError) {
      cellError.evalue += `\n${d.evalue}`;
      cellError.traceback.push(...d.traceback);
    } else {
      cellError = d;
    }
  },
});
convs.node; // compile the empty program now, so the first cell's time is its own

process.on('message', async (/** @type {any} */ msg) => {
  if (msg.type === 'close') {
    convs.close();
    process.exit(0);
  }
  if (msg.type !== 'execute') return;
  cellId = msg.id;
  cellError = undefined;
  let ok;
  try {
    ok = await executor.execute(msg.code);
  } catch (err) {
    ok = false;
    cellError = describe(err);
  }
  if (!ok && !cellError) cellError = { ename: 'Error', evalue: 'the cell failed', traceback: [] };
  send({ type: 'done', id: msg.id, ok, error: ok ? undefined : cellError });
});

send({ type: 'ready' });
