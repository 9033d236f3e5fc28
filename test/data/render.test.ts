import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { renderDataset, renderHand, HAND_POSES, HandPose } from '../../lib/data/render/index';
import { planRenderJobs } from '../../lib/data/render/dataset';
import { HELD_OUT, HeldOutParam, Interval, POLISH, domainBands, heldOutRanges, sampleHandParams } from '../../lib/data/render/params';
import { boxDownscale } from '../../lib/data/render/resample';
import { createRng } from '../../lib/util/random';

const SIZE = 64;

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rps-render-'));
}

/** Pixels that are clearly skin: background and shadow are grey (R close to B), skin is warmer. */
function skinPixels(img: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < img.length; i += 3) if (img[i] - img[i + 2] > 14) out.push(i);
  return out;
}

function meanLuma(img: Uint8Array, idx: number[]): number {
  let s = 0;
  for (const i of idx) s += 0.299 * img[i] + 0.587 * img[i + 1] + 0.114 * img[i + 2];
  return s / idx.length;
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.path, e.name)))
    .sort();
}

test('renderHand: same seed gives the same bytes, other seeds other images', () => {
  for (const pose of HAND_POSES) {
    const a = renderHand({ pose, seed: 7, size: SIZE });
    const b = renderHand({ pose, seed: 7, size: SIZE });
    assert.equal(a.length, SIZE * SIZE * 3);
    assert.deepEqual(a, b);
    const c = renderHand({ pose, seed: 8, size: SIZE });
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - c[i]);
    assert.ok(diff / a.length > 2, `${pose}: seeds 7 and 8 should give clearly different images (mean abs diff ${diff / a.length})`);
  }
});

test('renderHand: the same seed in another pose is another image', () => {
  const rock = renderHand({ pose: 'rock', seed: 3, size: SIZE });
  const paper = renderHand({ pose: 'paper', seed: 3, size: SIZE });
  assert.notDeepEqual(rock, paper);
});

test('renderHand: rejects bad input with the parameter name', () => {
  assert.throws(() => renderHand({ pose: 'lizard' as HandPose, seed: 1 }), /pose must be one of rock, paper, scissors/);
  assert.throws(() => renderHand({ pose: 'rock', seed: 1.5 }), /seed must be an integer/);
  assert.throws(() => renderHand({ pose: 'rock', seed: 1, size: 4 }), /size must be an integer/);
});

test('rendered hands: a hand on a light background, entering from an image edge', () => {
  for (let seed = 0; seed < 12; seed++) {
    const pose = HAND_POSES[seed % 3];
    const img = renderHand({ pose, seed, size: SIZE });
    const skin = skinPixels(img);
    const frac = skin.length / (SIZE * SIZE);
    assert.ok(frac > 0.04 && frac < 0.7, `seed ${seed}: hand covers ${(frac * 100).toFixed(1)} % of the image`);
    // The corners farthest from the hand are background: bright and nearly grey.
    const corners = [0, SIZE - 1, SIZE * (SIZE - 1), SIZE * SIZE - 1].map((p) => img.subarray(p * 3, p * 3 + 3));
    assert.ok(corners.some((c) => c[0] > 200 && c[1] > 200 && c[2] > 200 && c[0] - c[2] < 14), `seed ${seed}: no background corner`);
    let border = 0;
    for (const i of skin) {
      const p = i / 3;
      const x = p % SIZE, y = Math.floor(p / SIZE);
      if (x === 0 || y === 0 || x === SIZE - 1 || y === SIZE - 1) border++;
    }
    assert.ok(border >= 2, `seed ${seed}: the forearm should cross the image border`);
  }
});

test('rendered hands: skin tones from light to dark, and both left and right hands', () => {
  const lumas: number[] = [];
  for (let seed = 0; seed < 30; seed++) {
    const img = renderHand({ pose: HAND_POSES[seed % 3], seed, size: 48 });
    lumas.push(meanLuma(img, skinPixels(img)));
  }
  const lo = Math.min(...lumas);
  const hi = Math.max(...lumas);
  assert.ok(lo < 90, `darkest mean skin luma ${lo.toFixed(0)} should be dark`);
  assert.ok(hi > 170, `lightest mean skin luma ${hi.toFixed(0)} should be light`);
  let left = 0;
  for (let seed = 0; seed < 40; seed++) if (sampleHandParams('paper', createRng(seed)).left) left++;
  assert.ok(left > 8 && left < 32, `left hands in 40 draws: ${left}`);
});

test('rendered hands: an open hand covers more of the image than a fist, on average', () => {
  const area = (pose: HandPose): number => {
    let s = 0;
    for (let seed = 0; seed < 24; seed++) s += skinPixels(renderHand({ pose, seed: 1000 + seed, size: 48 })).length;
    return s / 24;
  };
  const rock = area('rock');
  const paper = area('paper');
  assert.ok(paper > rock * 1.05, `paper ${paper.toFixed(0)} px vs rock ${rock.toFixed(0)} px`);
});

test('planRenderJobs: balanced classes, unique seeds across splits, TFDS folders', () => {
  const jobs = planRenderJobs('/out', 2520, 372, 0, 300);
  assert.equal(jobs.length, 2892);
  // Shifted design (default): training images from the training domain, test images from the held-out one.
  assert.ok(jobs.slice(0, 2520).every((j) => j.domain === 'train'));
  assert.ok(jobs.slice(2520).every((j) => j.domain === 'test'));
  assert.ok(planRenderJobs('/out', 6, 3, 0, 300, 'iid').every((j) => j.domain === 'all'));
  assert.equal(new Set(jobs.map((j) => j.seed)).size, jobs.length);
  assert.equal(new Set(jobs.map((j) => j.file)).size, jobs.length);
  const count = (prefix: string, pose: string): number =>
    jobs.filter((j) => j.file.startsWith(path.join('/out', prefix, pose) + path.sep)).length;
  for (const pose of HAND_POSES) {
    assert.equal(count('rps', pose), 840);
    assert.equal(count('rps-test-set', pose), 124);
  }
  const other = planRenderJobs('/out', 30, 9, 1, 300);
  assert.notDeepEqual(other.map((j) => j.seed), planRenderJobs('/out', 30, 9, 0, 300).map((j) => j.seed));
});

test('renderDataset: TFDS layout, split sizes, RGB PNGs, progress, no duplicates', async () => {
  const dir = tmpDir();
  try {
    const seen: number[] = [];
    const res = await renderDataset({ outDir: dir, train: 7, test: 4, size: 32, workers: 1, onProgress: (d, t) => seen.push(d, t) });
    assert.deepEqual(res.counts, { train: { rock: 3, paper: 2, scissors: 2 }, test: { rock: 2, paper: 1, scissors: 1 } });
    assert.equal(res.seed, 0);
    assert.ok(res.seconds > 0);
    assert.deepEqual(seen.slice(-2), [11, 11]);
    const files = listFiles(dir);
    assert.equal(files.length, 11);
    assert.deepEqual(files.filter((f) => f.startsWith(`rps${path.sep}rock${path.sep}`)).length, 3);
    assert.deepEqual(files.filter((f) => f.startsWith(`rps-test-set${path.sep}paper${path.sep}`)).length, 1);
    assert.ok(files.every((f) => /^(rps|rps-test-set)[\\/](rock|paper|scissors)[\\/](test)?(rock|paper|scissors)\d\d-\d{3}\.png$/.test(f)), files.join(', '));
    const hashes = new Set<string>();
    for (const f of files) {
      const buf = fs.readFileSync(path.join(dir, f));
      const png = PNG.sync.read(buf);
      assert.equal(png.width, 32);
      assert.equal(png.height, 32);
      assert.equal(buf[25], 2, `${f}: PNG colour type should be 2 (RGB)`);
      hashes.add(createHash('sha256').update(buf).digest('hex'));
    }
    assert.equal(hashes.size, files.length, 'every image should be distinct');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('renderDataset: 1 and 2 workers write identical files', async () => {
  const a = tmpDir();
  const b = tmpDir();
  try {
    await renderDataset({ outDir: a, train: 6, test: 3, size: 40, seed: 5, workers: 1 });
    let progress = 0;
    await renderDataset({ outDir: b, train: 6, test: 3, size: 40, seed: 5, workers: 2, onProgress: () => progress++ });
    assert.equal(progress, 9);
    const fa = listFiles(a);
    assert.deepEqual(listFiles(b), fa);
    for (const f of fa) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs`);
  } finally {
    fs.rmSync(a, { recursive: true, force: true });
    fs.rmSync(b, { recursive: true, force: true });
  }
});

test('renderDataset: rejects bad options', async () => {
  await assert.rejects(renderDataset({ outDir: '', train: 1, test: 1 }), /outDir/);
  await assert.rejects(renderDataset({ outDir: '/tmp/x', train: -1 }), /train must be an integer/);
  await assert.rejects(renderDataset({ outDir: '/tmp/x', workers: 0 }), /workers must be an integer/);
});

test('renderDataset: an image that cannot be written fails the render, naming its file', async () => {
  const dir = tmpDir();
  try {
    // A folder where a PNG should go: the worker's write fails.
    const blocked = planRenderJobs(dir, 6, 0, 2, 24)[4].file;
    fs.mkdirSync(blocked, { recursive: true });
    const escaped = path.basename(blocked).replace('.', '\\.');
    await assert.rejects(renderDataset({ outDir: dir, train: 6, test: 0, size: 24, seed: 2, workers: 2 }), new RegExp(`rendering .*${escaped} failed in a worker: EISDIR`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('held-out design: train and test bands are disjoint, inside the full range, and cover it together', () => {
  for (const row of heldOutRanges()) {
    const { full, train, test } = row;
    for (const [a, b] of [...train, ...test]) assert.ok(a < b && a >= full[0] && b <= full[1], `${row.param}: band [${a}, ${b}) outside [${full}]`);
    for (const [a, b] of train) {
      for (const [c, d] of test) assert.ok(b <= c || d <= a, `${row.param}: train [${a}, ${b}) overlaps test [${c}, ${d})`);
    }
    const length = (bands: Interval[]): number => bands.reduce((s, [a, b]) => s + b - a, 0);
    assert.ok(Math.abs(length(train) + length(test) - (full[1] - full[0])) < 1e-9, `${row.param}: train + test should cover the full range`);
    // A shift, not a new world: training keeps most of each range.
    assert.ok(length(train) / (full[1] - full[0]) >= 0.55, `${row.param}: training share ${length(train) / (full[1] - full[0])}`);
  }
  assert.equal(POLISH.train.filter((c) => POLISH.test.some((t) => t.join() === c.join())).length, 0, 'polish palettes share no colour');
});

test('held-out design: every sampled hand lies in its own domain and never in the other', () => {
  const values = (p: ReturnType<typeof sampleHandParams>): Record<HeldOutParam, number> => {
    const az = (Math.atan2(p.light[1], p.light[0]) * 180) / Math.PI;
    return {
      scale: p.scale,
      palmWidth: p.palmWidth,
      palmLength: p.palmLength,
      fingerLength: p.fingerLength,
      fingerThickness: p.fingerThickness,
      skinTone: p.skinTone,
      lightAzimuth: az < 0 ? az + 360 : az,
      lightTint: p.lightTint[0] - 1,
      pitch: (p.pitch * 180) / Math.PI,
    };
  };
  const eps = 1e-9;
  const near = (v: number, bands: Interval[]): boolean => bands.some(([a, b]) => v >= a - eps && v < b + eps);
  for (const domain of ['train', 'test'] as const) {
    const other = domain === 'train' ? 'test' : 'train';
    for (let seed = 0; seed < 150; seed++) {
      const p = sampleHandParams(HAND_POSES[seed % 3], createRng(seed), domain);
      const v = values(p);
      for (const param of Object.keys(HELD_OUT) as HeldOutParam[]) {
        assert.ok(near(v[param], domainBands(param, domain)), `${domain} seed ${seed}: ${param} = ${v[param]} outside its bands`);
        // Outside the other domain's bands (up to the rounding of recovering the value from the image parameters).
        assert.ok(!domainBands(param, other).some(([a, b]) => v[param] > a + eps && v[param] < b - eps),
          `${domain} seed ${seed}: ${param} = ${v[param]} inside the ${other} bands`);
      }
      if (p.polish) assert.ok(POLISH[domain].some((c) => c.join() === p.nail.join()), `${domain} seed ${seed}: polish ${p.nail} not in its palette`);
    }
  }
  // Same seed, other domain: the shared parameters (pose, view, direction) are the same draws.
  const a = sampleHandParams('paper', createRng(5), 'train');
  const b = sampleHandParams('paper', createRng(5), 'test');
  assert.deepEqual([a.left, a.yaw, a.direction, a.fingers], [b.left, b.yaw, b.direction, b.fingers]);
  assert.notEqual(a.scale, b.scale);
});

test('renderHand: domains give other hands from the same seed; a bad domain is refused', () => {
  const train = renderHand({ pose: 'rock', seed: 11, size: 32, domain: 'train' });
  const test = renderHand({ pose: 'rock', seed: 11, size: 32, domain: 'test' });
  assert.notDeepEqual(train, test);
  assert.deepEqual(renderHand({ pose: 'rock', seed: 11, size: 32, domain: 'test' }), test);
  assert.throws(() => renderHand({ pose: 'rock', seed: 1, domain: 'val' as never }), /domain must be one of all, train, test/);
});

test('boxDownscale: exact area means, also for fractional ratios; no upscaling', () => {
  // 4x2 -> 2x1: each output pixel averages a 2x2 block.
  const src = Uint8Array.from([0, 0, 0, 10, 10, 10, 100, 0, 0, 200, 0, 0, 20, 20, 20, 30, 30, 30, 100, 0, 0, 0, 0, 0]);
  assert.deepEqual([...boxDownscale(src, 4, 2, 2, 1)], [15, 15, 15, 100, 0, 0]);
  // 3 -> 2 along x: weights 2/3 + 1/3 and 1/3 + 2/3.
  const row = Uint8Array.from([0, 0, 0, 90, 90, 90, 180, 180, 180]);
  assert.deepEqual([...boxDownscale(row, 3, 1, 2, 1)], [30, 30, 30, 150, 150, 150]);
  // The mean brightness of an image is kept.
  const img = renderHand({ pose: 'paper', seed: 2, size: 60 });
  const small = boxDownscale(img, 60, 60, 23, 17);
  const mean = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(img) - mean(small)) < 0.6, `${mean(img)} vs ${mean(small)}`);
  assert.deepEqual(boxDownscale(img, 60, 60, 60, 60), img);
  assert.throws(() => boxDownscale(img, 60, 60, 61, 60), /width must be an integer in \[1, 60\] \(no upscaling\)/);
});

test('renderDataset: stored size and split design', async () => {
  const dir = tmpDir();
  try {
    const res = await renderDataset({ outDir: dir, train: 3, test: 3, size: 40, stored: { width: 20, height: 16 }, workers: 1 });
    assert.equal(res.splitDesign, 'shifted');
    for (const f of listFiles(dir)) {
      const png = PNG.sync.read(fs.readFileSync(path.join(dir, f)));
      assert.deepEqual([png.width, png.height], [20, 16], f);
    }
    await assert.rejects(renderDataset({ outDir: dir, train: 1, test: 0, size: 40, stored: { width: 41, height: 10 } }), /stored.width must be an integer in \[1, 40\]/);
    await assert.rejects(renderDataset({ outDir: dir, train: 1, splitDesign: 'random' as never }), /splitDesign must be one of shifted, iid/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
