/**
 * The embedded base: the MobileNetV2 LayersModel that the `nsfwjs` npm package ships inside two JS modules
 * (topology and base64 weights), read from node_modules with no network.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { ModelJson, RawModel } from './artifacts';
import { assertLayersModelJson } from './artifacts';

/** Folder of the model files inside the installed nsfwjs package. */
export function embeddedModelDir(): string {
  let entry: string;
  try {
    entry = require.resolve('nsfwjs');
  } catch {
    throw new Error("embedded base: the npm package 'nsfwjs' is not installed (run `npm ci` in the project)");
  }
  // The package's `exports` map hides dist/models, so locate it from the resolved entry (dist/cjs/index.js).
  return path.join(path.dirname(entry), '..', 'models', 'mobilenet_v2');
}

/** Evaluates one of nsfwjs' UMD data modules in an empty context and returns its export. */
function evalUmdModule(file: string): unknown {
  if (!fs.existsSync(file)) throw new Error(`embedded base: ${file} is missing; reinstall nsfwjs (npm ci)`);
  const sandbox = { module: { exports: {} as unknown }, exports: {} };
  sandbox.exports = sandbox.module.exports as object;
  vm.runInNewContext(fs.readFileSync(file, 'utf8'), sandbox, { filename: file });
  return sandbox.module.exports;
}

// The raw files never change during a process; keeping them (3.4 MB) makes a fresh base per experiment cheap.
let memo: RawModel | undefined;

/** Reads the embedded model (topology + quantised weights) into memory; later calls reuse it (treat it as read-only). */
export function readEmbeddedModel(): RawModel {
  if (!memo) memo = readEmbeddedFiles();
  return memo;
}

function readEmbeddedFiles(): RawModel {
  const dir = embeddedModelDir();
  const json = evalUmdModule(path.join(dir, 'model.min.js')) as ModelJson;
  if (!json || typeof json !== 'object') throw new Error(`embedded base: ${dir}/model.min.js does not export a model.json object`);
  assertLayersModelJson(json, `${dir}/model.min.js`);
  const shard = evalUmdModule(path.join(dir, 'group1-shard1of1.min.js'));
  if (typeof shard !== 'string') throw new Error(`embedded base: ${dir}/group1-shard1of1.min.js does not export a base64 string`);
  const bytes = Buffer.from(shard, 'base64');
  return { json, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, source: `nsfwjs:${dir}` };
}
