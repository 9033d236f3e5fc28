/**
 * A real notebook, executed twice in ONE kernel session (as a user re-running everything in Jupyter):
 * no cell fails either time, and the number of live tensors after the second pass equals that after the
 * first (re-executed cells reuse or dispose what they made). Small settings and a temporary data cache.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotebookKernel } from '../lib/report/kernel';
import { cellSource, readNotebook } from '../lib/report/notebook';
import { NOTEBOOKS_DIR } from '../lib/report/runner';

const PROBE = 'import * as tfProbe from "@tensorflow/tfjs";\ntfProbe.memory().numTensors';

async function tensorCount(kernel: NotebookKernel): Promise<number> {
  const run = await kernel.execute(PROBE);
  assert.ok(run.ok, `probe failed: ${run.error?.evalue}`);
  const out = run.outputs.find((o) => o.output_type === 'stream' && o.name === 'stdout');
  assert.ok(out && out.output_type === 'stream', 'probe printed nothing');
  return Number(out.text.trim().split('\n').pop());
}

test('02_preprocess: every cell twice in one kernel, no errors, tensor count flat', { timeout: 240_000 }, async () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'rps-nb-'));
  const kernel = await NotebookKernel.start({
    env: { RPS_SMALL: '1', RPS_CACHE_DIR: cache, RPS_DATA: 'rendered', RPS_BASE: 'embedded', RPS_RENDERED_TRAIN: '30', RPS_RENDERED_TEST: '15', RPS_BACKEND: 'wasm' },
  });
  try {
    const nb = readNotebook(path.join(NOTEBOOKS_DIR, '02_preprocess.ipynb'));
    const code = nb.cells.filter((c) => c.cell_type === 'code').map(cellSource);
    assert.ok(code.length >= 5, 'the notebook has its code cells');
    const counts: number[] = [];
    for (let pass = 1; pass <= 2; pass++) {
      for (const [i, src] of code.entries()) {
        const run = await kernel.execute(src);
        assert.ok(run.ok, `pass ${pass}, code cell ${i + 1} failed: ${run.error?.ename}: ${run.error?.evalue}\n${run.error?.traceback.join('\n')}`);
      }
      counts.push(await tensorCount(kernel));
    }
    assert.ok(counts[0] > 0, 'the base model holds tensors, so the count measures something');
    assert.equal(counts[1], counts[0], `tensors after pass 1: ${counts[0]}, after pass 2: ${counts[1]}`);
    await kernel.settle(200);
    assert.deepEqual(kernel.lateFaults, []);
  } finally {
    await kernel.close();
    fs.rmSync(cache, { recursive: true, force: true });
  }
});
