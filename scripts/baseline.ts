/**
 * How separable are the classes? A multinomial logistic regression on 16x16 grey pixels (plain JS, full-batch
 * gradient descent, standardised inputs, L2) trained on the train split and scored on the test split.
 * Far above ~90 % test accuracy would mean the rendered poses are too uniform to be an interesting task.
 *
 * Usage: ts-node --transpile-only scripts/baseline.ts [--dir <folder with rps/ and rps-test-set/>]
 *          [--train 2520] [--test 372] [--seed 0] [--render-size 64] [--epochs 400]
 *   Without --dir, the default data set is rendered in memory at --render-size px (the geometry scales with
 *   the size, so this matches a downscaled 300 px set) and reduced to 16x16 by area averaging.
 *   With --dir, PNGs are read from a TFDS-layout folder (the real data set or a rendered cache).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { planRenderJobs } from '../lib/data/render/dataset';
import { renderHand } from '../lib/data/render/hand';
import { HAND_POSES } from '../lib/data/render/params';

const GRID = 16;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Grey 16x16 by area averaging of an RGB(A) square image with `channels` bytes per pixel. */
function toGrid(px: Uint8Array, size: number, channels: number): Float64Array {
  const out = new Float64Array(GRID * GRID);
  const cnt = new Float64Array(GRID * GRID);
  for (let y = 0; y < size; y++) {
    const gy = Math.min(GRID - 1, Math.floor((y * GRID) / size));
    for (let x = 0; x < size; x++) {
      const gx = Math.min(GRID - 1, Math.floor((x * GRID) / size));
      const o = (y * size + x) * channels;
      out[gy * GRID + gx] += (0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2]) / 255;
      cnt[gy * GRID + gx]++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= cnt[i];
  return out;
}

interface Split { x: Float64Array[]; y: number[] }

function readDir(dir: string, split: 'rps' | 'rps-test-set'): Split {
  const s: Split = { x: [], y: [] };
  HAND_POSES.forEach((pose, label) => {
    const folder = path.join(dir, split, pose);
    if (!fs.existsSync(folder)) throw new Error(`baseline: expected a folder ${folder}`);
    for (const f of fs.readdirSync(folder).filter((n) => n.toLowerCase().endsWith('.png')).sort()) {
      const png = PNG.sync.read(fs.readFileSync(path.join(folder, f)));
      if (png.width !== png.height) throw new Error(`baseline: ${f} is not square`);
      s.x.push(toGrid(png.data, png.width, 4));
      s.y.push(label);
    }
  });
  return s;
}

function renderSplits(train: number, test: number, seed: number, size: number): { train: Split; test: Split } {
  const jobs = planRenderJobs('', train, test, seed, size);
  const out = { train: { x: [], y: [] } as Split, test: { x: [], y: [] } as Split };
  for (const job of jobs) {
    const s = job.file.startsWith(`rps-test-set${path.sep}`) ? out.test : out.train;
    s.x.push(toGrid(renderHand({ pose: job.pose, seed: job.seed, size, domain: job.domain }), size, 3));
    s.y.push(HAND_POSES.indexOf(job.pose));
  }
  return out;
}

/** Trains softmax regression on standardised features; returns test accuracy (and train accuracy). */
function logisticRegression(train: Split, test: Split, l2: number, epochs: number): { train: number; test: number } {
  const d = GRID * GRID;
  const k = HAND_POSES.length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const x of train.x) for (let j = 0; j < d; j++) mean[j] += x[j] / train.x.length;
  for (const x of train.x) for (let j = 0; j < d; j++) std[j] += (x[j] - mean[j]) ** 2 / train.x.length;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) + 1e-6;
  const norm = (x: Float64Array): Float64Array => x.map((v, j) => (v - mean[j]) / std[j]);
  const xtr = train.x.map(norm);
  const xte = test.x.map(norm);
  const w = new Float64Array(k * (d + 1));
  const grad = new Float64Array(w.length);
  const logits = new Float64Array(k);
  const forward = (x: Float64Array): void => {
    for (let c = 0; c < k; c++) {
      let z = w[c * (d + 1) + d];
      for (let j = 0; j < d; j++) z += w[c * (d + 1) + j] * x[j];
      logits[c] = z;
    }
    const m = Math.max(...logits);
    let s = 0;
    for (let c = 0; c < k; c++) s += (logits[c] = Math.exp(logits[c] - m));
    for (let c = 0; c < k; c++) logits[c] /= s;
  };
  // Adam on the full batch: converges in a few hundred steps without tuning a learning rate per data set.
  const m1 = new Float64Array(w.length);
  const m2 = new Float64Array(w.length);
  const lr = 0.05;
  for (let step = 1; step <= epochs; step++) {
    grad.fill(0);
    for (let i = 0; i < xtr.length; i++) {
      forward(xtr[i]);
      for (let c = 0; c < k; c++) {
        const g = (logits[c] - (train.y[i] === c ? 1 : 0)) / xtr.length;
        for (let j = 0; j < d; j++) grad[c * (d + 1) + j] += g * xtr[i][j];
        grad[c * (d + 1) + d] += g;
      }
    }
    for (let p = 0; p < w.length; p++) {
      const g = grad[p] + (p % (d + 1) === d ? 0 : l2 * w[p]);
      m1[p] = 0.9 * m1[p] + 0.1 * g;
      m2[p] = 0.999 * m2[p] + 0.001 * g * g;
      w[p] -= (lr * (m1[p] / (1 - 0.9 ** step))) / (Math.sqrt(m2[p] / (1 - 0.999 ** step)) + 1e-8);
    }
  }
  const accuracy = (xs: Float64Array[], ys: number[]): number => {
    let ok = 0;
    xs.forEach((x, i) => {
      forward(x);
      if (logits.indexOf(Math.max(...logits)) === ys[i]) ok++;
    });
    return ok / xs.length;
  };
  return { train: accuracy(xtr, train.y), test: accuracy(xte, test.y) };
}

function main(): void {
  const dir = arg('dir', '');
  const epochs = Number(arg('epochs', '400'));
  const t0 = Date.now();
  let data: { train: Split; test: Split };
  if (dir) {
    data = { train: readDir(dir, 'rps'), test: readDir(dir, 'rps-test-set') };
  } else {
    const size = Number(arg('render-size', '64'));
    data = renderSplits(Number(arg('train', '2520')), Number(arg('test', '372')), Number(arg('seed', '0')), size);
  }
  const source = dir ? `read from ${dir}` : 'rendered';
  console.log(`${source}: ${data.train.x.length} train / ${data.test.x.length} test images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  let best = 0;
  for (const l2 of [0, 1e-3, 1e-2, 1e-1]) {
    const r = logisticRegression(data.train, data.test, l2, epochs);
    best = Math.max(best, r.test);
    console.log(`logistic regression, 16x16 grey, L2 ${l2}: train ${(r.train * 100).toFixed(1)} %, test ${(r.test * 100).toFixed(1)} %`);
  }
  console.log(`best test accuracy over the L2 grid (an optimistic bound): ${(best * 100).toFixed(1)} % (chance 33.3 %)`);
}

main();
