/**
 * The browser demo in headless Chromium: `npm run demo`'s page classifies uploaded and dropped files with the
 * probabilities `predictImage` gives for the same files (within 1e-4) on every backend the page can use, the
 * exported static folder does the same from a plain static server, and live frames of a fake camera update the
 * bars. Uses a tiny classifier unless RPS_DEMO_MODEL names a trained one; RPS_DEMO_SCREENSHOT=<png> saves a
 * screenshot of the page (docs/demo.png is made that way).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { initEngine } from '../../lib/engine/engine';
import { renderHand } from '../../lib/data/render/hand';
import { loadClassifier, type Classifier } from '../../lib/model/persist';
import { predictImage, predictPixels } from '../../lib/model/predict';
import { demoAssets } from '../../lib/demo/assets';
import { exportDemo } from '../../lib/demo/server';
import { resolveClassifierDir } from '../../lib/cli/model-cli';
import { encodePng } from '../../lib/util/png';
import { PNG } from 'pngjs';
import { jpegBytes, palettePngBytes, pngBytes } from '../data/fixtures';
import { picture, saveTinyClassifier } from '../cli/fixtures';
import { serveDir, tempDir } from '../model/helpers';
import { chromiumPath, launchChromium, skipUnless, startCommand, type Command } from './browser';

const chromium = chromiumPath();
const skip = skipUnless(chromium ? undefined : 'no Chromium found (Debian: apt-get install chromium)');

/**
 * PNG decodes to the same bytes everywhere; JPEG decoders (the browser's libjpeg-turbo, jpeg-js in Node) differ in
 * their rounding, by a unit here and there, which moves the probabilities slightly.
 */
const JPEG_TOLERANCE = 5e-3;

/** Largest absolute difference between the page's probabilities and the library's. */
function maxDiff(page: number[], node: Record<string, number>, classes: string[]): number {
  assert.equal(page.length, classes.length);
  return Math.max(...classes.map((c, i) => Math.abs(page[i] - node[c])));
}

async function openDemo(page: Page, url: string): Promise<string> {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 120_000 });
  const state = await page.evaluate(() => [document.body.dataset.state, document.getElementById('error')?.textContent ?? '']);
  assert.equal(state[0], 'ready', `the demo did not start: ${state[1]}`);
  return page.evaluate(() => document.body.dataset.backend ?? '');
}

/** Uploads `file` through the file picker and returns the probabilities the page shows for it. */
async function upload(page: Page, file: string): Promise<number[]> {
  await page.setInputFiles('#file', file);
  await page.waitForFunction((name) => document.getElementById('image-bars')?.dataset.file === name, path.basename(file), { timeout: 60_000 });
  return page.evaluate(() => JSON.parse(document.getElementById('image-bars')!.dataset.probabilities!) as number[]);
}

describe('browser demo (headless Chromium)', { skip }, () => {
  let work: string;
  let modelDir: string;
  let classifier: Classifier;
  let browser: Browser;
  let demo: Command;
  let url: string;
  const images: string[] = [];

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    work = tempDir('demo');
    // A trained model may be given as npm run train's --out or a notebook run folder, as to the command.
    const given = process.env.RPS_DEMO_MODEL ?? path.join(work, 'model');
    if (!process.env.RPS_DEMO_MODEL) await saveTinyClassifier(given);
    modelDir = resolveClassifierDir(given);
    classifier = await loadClassifier(modelDir);
    // What training sees (a 300 px rendered hand), and what a user may bring: other sizes and aspect ratios,
    // a smooth alpha channel, grey, palette and JPEG files.
    const write = (name: string, bytes: Buffer): void => {
      const file = path.join(work, name);
      fs.writeFileSync(file, bytes);
      images.push(file);
    };
    write('hand.png', encodePng(renderHand({ pose: 'scissors', seed: 7 }), 300, 300));
    write('wide.png', encodePng(picture(200, 120, 3), 200, 120));
    write('alpha.png', encodePng(picture(90, 150, 5, 4), 90, 150, 4));
    write('grey.png', pngBytes(64, 48, 4, 0));
    write('palette.png', palettePngBytes(40, 40));
    write('photo.jpg', await jpegBytes(160, 100, 2));
    demo = startCommand('lib/cli/demo.ts', ['--model', given]);
    url = (await demo.waitFor(/at (http:\/\/127\.0\.0\.1:\d+\/)/, 120_000))[1];
    browser = await launchChromium(chromium!);
  });

  after(async () => {
    await browser?.close();
    if (demo && demo.child.exitCode === null) {
      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0, `npm run demo did not stop cleanly on Ctrl+C:\n${demo.output()}`);
    }
    classifier?.model.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('an uploaded file gets predictImage\'s probabilities (PNG within 1e-4) on webgl, wasm and cpu', { timeout: 300_000 }, async () => {
    // The page classifies the image alone (one view), as a live camera frame must be.
    const expected = await Promise.all(images.map((f) => predictImage(classifier, f, { tta: 1 })));
    const page = await browser.newPage();
    try {
      const seen: string[] = [];
      for (const query of ['', '?backend=wasm', '?backend=cpu']) {
        const backend = await openDemo(page, url + query);
        seen.push(backend);
        for (const [i, file] of images.entries()) {
          const probs = await upload(page, file);
          const d = maxDiff(probs, expected[i].probabilities, classifier.metadata.classes);
          console.log(`# ${backend} ${path.basename(file)}: max difference ${d.toExponential(2)}`);
          const tolerance = file.endsWith('.jpg') ? JPEG_TOLERANCE : 1e-4;
          assert.ok(d < tolerance, `${backend}, ${path.basename(file)}: page ${JSON.stringify(probs)} vs predictImage ${JSON.stringify(expected[i].probabilities)} (max diff ${d})`);
        }
      }
      assert.deepEqual(seen.slice(1), ['wasm', 'cpu']);
    } finally {
      await page.close();
    }
  });

  test('the 1e-4 check can fail: another resize gives other probabilities', async () => {
    // Nearest-neighbour instead of the antialiased resize, on the wide test image.
    const file = images[1];
    const png = PNG.sync.read(fs.readFileSync(file));
    const size = classifier.metadata.inputSize;
    const rgb = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const src = (Math.floor((y * png.height) / size) * png.width + Math.floor((x * png.width) / size)) * 4;
        rgb.set(png.data.subarray(src, src + 3), (y * size + x) * 3);
      }
    }
    const nearest = (await predictPixels(classifier, rgb)).probabilities;
    const right = (await predictImage(classifier, file, { tta: 1 })).probabilities;
    const d = Math.max(...classifier.metadata.classes.map((c) => Math.abs(nearest[c] - right[c])));
    assert.ok(d > 1e-3, `a different resize changed the probabilities by only ${d}`);
  });

  test('a dropped file is classified; a file that is not an image gets a clear error', async () => {
    const page = await browser.newPage();
    try {
      await openDemo(page, url);
      const file = images[0];
      const b64 = fs.readFileSync(file).toString('base64');
      const transfer = await page.evaluateHandle((data) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'dropped.png', { type: 'image/png' }));
        return dt;
      }, b64);
      await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
      await page.waitForFunction(() => document.getElementById('image-bars')?.dataset.file === 'dropped.png', null, { timeout: 60_000 });
      const probs = await page.evaluate(() => JSON.parse(document.getElementById('image-bars')!.dataset.probabilities!) as number[]);
      assert.ok(maxDiff(probs, (await predictImage(classifier, file, { tta: 1 })).probabilities, classifier.metadata.classes) < 1e-4);

      const notes = path.join(work, 'notes.png');
      fs.writeFileSync(notes, 'not an image');
      await page.setInputFiles('#file', notes);
      await page.waitForFunction(() => !document.getElementById('error')!.hidden, null, { timeout: 30_000 });
      assert.match(await page.textContent('#error') ?? '', /cannot decode image notes\.png/);
    } finally {
      await page.close();
    }
  });

  test('the camera: bars follow the live frames of a fake camera', { timeout: 120_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 640 } });
    try {
      await openDemo(page, url);
      await upload(page, images[0]);
      await page.click('#camera-toggle');
      const snapshots: { probs: string; widths: string[] }[] = [];
      for (let i = 0; i < 40 && new Set(snapshots.map((s) => s.probs)).size < 3; i++) {
        await page.waitForFunction((n) => Number(document.getElementById('camera-bars')?.dataset.updates ?? 0) > n, i * 2, { timeout: 60_000 });
        snapshots.push(
          await page.evaluate(() => {
            const bars = document.getElementById('camera-bars')!;
            return { probs: bars.dataset.probabilities!, widths: [...bars.querySelectorAll<HTMLElement>('.fill')].map((f) => f.style.width) };
          }),
        );
      }
      const distinct = new Set(snapshots.map((s) => s.probs));
      assert.ok(distinct.size >= 3, `the bars showed only ${distinct.size} distinct predictions in ${snapshots.length} looks`);
      const last = snapshots[snapshots.length - 1];
      const probs = JSON.parse(last.probs) as number[];
      // The browser writes widths back normalised ('76.0%' reads '76%'), so compare the numbers.
      assert.ok(last.widths.every((w) => w.endsWith('%')), `widths in %: ${last.widths.join(', ')}`);
      assert.deepEqual(last.widths.map((w) => parseFloat(w)), probs.map((p) => +(p * 100).toFixed(1)), 'each bar is as wide as its probability');
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4);
      const shot = process.env.RPS_DEMO_SCREENSHOT;
      if (shot) {
        await page.waitForTimeout(1500);
        fs.mkdirSync(path.dirname(path.resolve(shot)), { recursive: true });
        await page.screenshot({ path: shot, fullPage: true });
      }
    } finally {
      await page.close();
    }
  });

  test('the exported folder works from a plain static web server', { timeout: 120_000 }, async () => {
    const out = path.join(work, 'export');
    await exportDemo(await demoAssets(modelDir), out);
    const server = await serveDir(out);
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    try {
      await openDemo(page, `${server.url}/index.html?backend=wasm`);
      const probs = await upload(page, images[0]);
      assert.ok(maxDiff(probs, (await predictImage(classifier, images[0], { tta: 1 })).probabilities, classifier.metadata.classes) < 1e-4);
      // Everything, the model and tfjs included, came from the exported folder.
      const elsewhere = requested.filter((u) => !u.startsWith(`${server.url}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
      assert.deepEqual(elsewhere, []);
      for (const p of ['/index.html', '/app.js', '/tfjs/tf.min.js', '/model/model.json', '/model/metadata.json']) assert.ok(server.requests.includes(p), `${p} was not loaded`);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
