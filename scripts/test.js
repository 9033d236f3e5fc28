#!/usr/bin/env node
// Runs the unit tests with node's test runner through ts-node (types are checked by `tsc --noEmit` first).
// Usage: node scripts/test.js [file-or-folder ...]   (default: test/)
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function collect(p, out) {
  const st = fs.statSync(p);
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) collect(path.join(p, name), out);
  } else if (/\.test\.ts$/.test(p)) {
    out.push(p);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap((r) => collect(r, []));
if (!files.length) {
  console.error(`no *.test.ts files under ${roots.join(' ') || 'test/'}`);
  process.exit(1);
}
const env = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' };
const res = spawnSync(process.execPath, ['--require', 'ts-node/register', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env,
});
process.exit(res.status ?? 1);
