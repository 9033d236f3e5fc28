/** Serving the demo's files on 127.0.0.1, or writing them as a static folder. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildDirAtomic } from '../util/atomic';
import { assetBytes, type DemoAsset } from './assets';
import { MODEL_DIR } from './browser/paths';

/** Where the demo listens. */
export const DEMO_HOST = '127.0.0.1';

export interface DemoServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  close(): Promise<void>;
}

/** Serves `assets` (GET and HEAD; `/` is index.html) on 127.0.0.1:`port` (0: any free port). */
export async function serveDemo(assets: DemoAsset[], port = 0): Promise<DemoServer> {
  const byPath = new Map(assets.map((a) => [`/${a.path}`, a]));
  const server = http.createServer((req, res) => {
    let p: string;
    try {
      p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    const asset = byPath.get(p === '/' ? '/index.html' : p);
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const body = assetBytes(asset);
    // no-store: a re-saved model shows up on reload.
    res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, DEMO_HOST, resolve);
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${DEMO_HOST}:${actual}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Browsers keep connections alive; they would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/**
 * Writes `assets` into folder `out`, atomically (complete or unchanged). An existing `out` is replaced only when
 * it is empty or an earlier export (it has index.html and the model's metadata.json), never another folder.
 */
export async function exportDemo(assets: DemoAsset[], out: string): Promise<void> {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new Error(`--export: ${out} is a file; expected a new or empty folder`);
    const earlier = fs.existsSync(path.join(out, 'index.html')) && fs.existsSync(path.join(out, MODEL_DIR, 'metadata.json'));
    if (fs.readdirSync(out).length && !earlier) throw new Error(`--export: ${out} is not empty and not an earlier demo export; choose a new or empty folder`);
  }
  await buildDirAtomic(out, (tmp) => {
    for (const a of assets) {
      const file = path.join(tmp, ...a.path.split('/'));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, assetBytes(a));
    }
  });
}
