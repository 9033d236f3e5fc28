/** The kernel behind the runner and the notebook tests: tslab's compiler and executor in a child process. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { NotebookKernel } from '../../lib/report/kernel';

test('NotebookKernel: state across cells, type errors, a leak the probe sees, late faults', { timeout: 90_000 }, async () => {
  const kernel = await NotebookKernel.start();
  try {
    const count = async () => {
      const run = await kernel.execute('import * as tfc from "@tensorflow/tfjs";\ntfc.memory().numTensors');
      const out = run.outputs[0];
      assert.ok(out.output_type === 'stream');
      return Number(out.text);
    };
    assert.ok((await kernel.execute('import * as tf from "@tensorflow/tfjs";\nlet kept = tf.ones([2]);')).ok);
    const before = await count();
    await kernel.execute('kept = tf.ones([2]);');
    assert.equal(await count(), before + 1, 'the probe sees a leaked tensor');
    await kernel.execute('kept.dispose();');
    assert.equal(await count(), before);

    const typed = await kernel.execute('const n: number = "text";');
    assert.equal(typed.ok, false);
    assert.match(typed.error?.evalue ?? '', /^1:7 - Type 'string' is not assignable to type 'number'/);

    const thrown = await kernel.execute('throw new RangeError("out of range");');
    assert.equal(thrown.error?.ename, 'RangeError');
    assert.equal(thrown.error?.traceback.some((l) => l.includes('tslab')), false, 'tslab frames are dropped');

    const late = await kernel.execute('setTimeout(() => { console.log("later"); Promise.reject(new Error("late")); }, 10);\n1');
    assert.ok(late.ok);
    await kernel.settle(300);
    assert.equal(kernel.lateFaults.length, 1);
    assert.equal(kernel.lateFaults[0].kind, 'unhandledRejection');
    assert.ok(late.outputs.some((o) => o.output_type === 'stream' && o.text.includes('later')), 'late output goes to the cell that made it');
  } finally {
    await kernel.close();
  }
});
