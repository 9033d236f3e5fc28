/**
 * The webgpu test group: runs where a WebGPU adapter is present (in CI, Mesa's llvmpipe, a software adapter),
 * is skipped with the reason elsewhere, and fails instead of skipping under RPS_REQUIRE_WEBGPU=1 (.ci/run sets it).
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initEngine } from '../../lib/engine/engine';

/** Set to 1 where the group must run (CI). */
export const REQUIRE_WEBGPU_ENV = 'RPS_REQUIRE_WEBGPU';

let probe: Promise<string | undefined> | undefined;

/** Why the webgpu engine cannot start here, or undefined when it did (it is then the active engine). */
export function webgpuUnavailable(): Promise<string | undefined> {
  probe ??= initEngine({ engine: 'webgpu', quiet: true }).then(
    () => undefined,
    (err: Error) => err.message,
  );
  return probe;
}

/** `describe(name, body)` where webgpu starts; otherwise one skipped test that says why (failed under RPS_REQUIRE_WEBGPU=1). */
export function describeWebGpu(name: string, body: () => void): void {
  describe(name, async () => {
    const why = await webgpuUnavailable();
    if (!why) {
      body();
      return;
    }
    if (process.env[REQUIRE_WEBGPU_ENV] === '1') {
      test(`webgpu must run here (${REQUIRE_WEBGPU_ENV}=1)`, () => assert.fail(why));
    } else {
      test('webgpu group', { skip: why }, () => undefined);
    }
  });
}
