/**
 * The files of the browser demo, as one list that the server serves and the export writes: the page, its script
 * (lib/demo/browser/page.ts bundled by esbuild with the training code's resize), TensorFlow.js and its wasm
 * backend from node_modules, and the saved classifier. Every URL is relative, so the folder works from any
 * static web host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { shardPaths, type ModelJson } from '../model/artifacts';
import { MODEL_DIR, TFJS_DIR } from './browser/paths';

/** One file of the demo: its path relative to the page, its content type, and a file to read or the bytes. */
export interface DemoAsset {
  path: string;
  type: string;
  source: { file: string } | { bytes: Buffer };
}

/** The folder of the page's own files. */
export const DEMO_BROWSER_DIR = path.join(__dirname, 'browser');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

function typeOf(file: string): string {
  return TYPES[path.extname(file)] ?? 'application/octet-stream';
}

/** Bundles the page's script (an IIFE; it uses the global `tf` of the tfjs script tags). */
export async function bundlePageScript(): Promise<Buffer> {
  const result = await esbuild.build({
    entryPoints: [path.join(DEMO_BROWSER_DIR, 'page.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'silent',
  });
  return Buffer.from(result.outputFiles[0].contents);
}

/** tfjs and its wasm backend, where the page's script tags and its `setWasmPaths` look for them. */
function tfjsAssets(): DemoAsset[] {
  const tfjs = path.dirname(require.resolve('@tensorflow/tfjs/dist/tf.min.js'));
  const wasm = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'));
  const files = [
    path.join(tfjs, 'tf.min.js'),
    path.join(wasm, 'tf-backend-wasm.min.js'),
    ...['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => path.join(wasm, f)),
  ];
  return files.map((file) => ({ path: `${TFJS_DIR}/${path.basename(file)}`, type: typeOf(file), source: { file } }));
}

/**
 * Every file of the demo for the classifier in `classifierDir` (a folder written by `saveClassifier`; check it
 * with `loadClassifier` first for a clear error). The model's files are listed from its model.json.
 */
export async function demoAssets(classifierDir: string): Promise<DemoAsset[]> {
  const json = JSON.parse(fs.readFileSync(path.join(classifierDir, 'model.json'), 'utf8')) as ModelJson;
  // Shard paths are URLs relative to model.json; the files carry the decoded names.
  const modelFiles = ['model.json', 'metadata.json', ...shardPaths(json).map(decodeURIComponent)];
  return [
    { path: 'index.html', type: typeOf('index.html'), source: { file: path.join(DEMO_BROWSER_DIR, 'index.html') } },
    { path: 'app.js', type: typeOf('app.js'), source: { bytes: await bundlePageScript() } },
    ...tfjsAssets(),
    ...modelFiles.map((f) => ({ path: `${MODEL_DIR}/${f}`, type: typeOf(f), source: { file: path.join(classifierDir, f) } })),
  ];
}

/** The bytes of an asset. */
export function assetBytes(asset: DemoAsset): Buffer {
  return 'bytes' in asset.source ? asset.source.bytes : fs.readFileSync(asset.source.file);
}
