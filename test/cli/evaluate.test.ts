/** `npm run evaluate`, in-process: metrics against predictImage, evaluation.json, the HTML report, class matching. */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine/engine';
import { loadClassifier } from '../../lib/model/persist';
import { predictImage } from '../../lib/model/predict';
import { evaluateMain } from '../../lib/cli/evaluate';
import { PLOTLY_CHART_CLASS } from '../../lib/report/display';
import { writeClassFolders } from '../data/fixtures';
import { tempDir } from '../model/helpers';
import { CLASSES, capture, saveTinyClassifier } from './fixtures';

describe('npm run evaluate', () => {
  let dir: string;
  let model: string;
  let data: string;

  before(async () => {
    await initEngine({ engine: 'wasm', quiet: true });
    dir = tempDir('evaluate');
    model = path.join(dir, 'model');
    await saveTinyClassifier(model);
    // The TFDS layout: the test split is rps-test-set/.
    data = path.join(dir, 'data');
    writeClassFolders(path.join(data, 'rps-test-set'), { rock: 4, paper: 3, scissors: 3 }, 36);
    writeClassFolders(path.join(data, 'rps'), { rock: 1, paper: 1, scissors: 1 }, 36);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('prints and writes the metrics of predictImage\'s predictions; --report writes a self-contained page', async () => {
    const out = path.join(dir, 'out');
    const before = tf.memory().numTensors;
    const r = await capture(evaluateMain, ['--model', model, '--data', data, '--out', out, '--report', '--cache-dir', path.join(dir, 'cache')]);
    assert.equal(r.code, 0, r.err);
    assert.equal(tf.memory().numTensors, before);
    const ev = JSON.parse(fs.readFileSync(path.join(out, 'evaluation.json'), 'utf8'));
    assert.equal(ev.data, path.join(data, 'rps-test-set'));
    assert.equal(ev.count, 10);
    // The same numbers from predictImage, file by file.
    const clf = await loadClassifier(model);
    let correct = 0;
    const confusion = CLASSES.map(() => CLASSES.map(() => 0));
    try {
      for (const [i, file] of ev.files.entries()) {
        const truth = CLASSES.indexOf(path.basename(path.dirname(file)));
        const p = await predictImage(clf, file);
        assert.equal(ev.predicted[i], p.index);
        confusion[truth][p.index]++;
        if (p.index === truth) correct++;
      }
    } finally {
      clf.model.dispose();
    }
    assert.deepEqual(ev.confusion, confusion);
    assert.equal(ev.accuracy, correct / 10);
    assert.ok(correct < 10, 'the tiny model makes mistakes, so the gallery has something to show');
    assert.deepEqual(ev.perClass.map((m: { className: string }) => m.className), CLASSES);
    assert.deepEqual(ev.perClass.map((m: { support: number }) => m.support), [4, 3, 3]);
    // On screen: accuracy, a line per class, the confusion matrix.
    assert.match(r.out, new RegExp(`accuracy ${((correct / 10) * 100).toFixed(2)} % of 10 images`));
    for (const c of CLASSES) assert.match(r.out, new RegExp(`^${c}\\s+\\d\\.\\d{4}\\s+\\d\\.\\d{4}\\s+\\d\\.\\d{4}\\s+\\d+$`, 'm'));
    assert.match(r.out, /^true \\ predicted\s+rock\s+paper\s+scissors$/m);
    assert.match(r.out, new RegExp(`^rock\\s+${confusion[0].join('\\s+')}$`, 'm'));
    // The report: the confusion matrix, the mistakes and their Grad-CAM maps; plotly inline, no external resources.
    const html = fs.readFileSync(path.join(out, 'evaluation.html'), 'utf8');
    assert.ok(correct < 10, 'the fixture has mistakes to show');
    assert.equal(html.split(`class="${PLOTLY_CHART_CLASS}`).length - 1, 3);
    assert.ok(html.includes('Most confident mistakes'));
    assert.ok(html.includes('What the model looked at (Grad-CAM)'));
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="http/);
    assert.ok(html.length > 1_000_000, 'plotly.js is inlined');
  });

  test('class folders are matched by name: a subset works, a class the model does not know is an error naming it', async () => {
    const subset = path.join(dir, 'subset');
    writeClassFolders(subset, { scissors: 2, paper: 1 }, 30);
    const ok = await capture(evaluateMain, ['--model', model, '--data', subset, '--out', path.join(dir, 'out-subset'), '--cache-dir', path.join(dir, 'cache')]);
    assert.equal(ok.code, 0, ok.err);
    const ev = JSON.parse(fs.readFileSync(path.join(dir, 'out-subset', 'evaluation.json'), 'utf8'));
    assert.deepEqual(ev.classes, CLASSES);
    assert.deepEqual(ev.perClass.map((m: { support: number }) => m.support), [0, 1, 2]);

    const unknown = path.join(dir, 'unknown');
    writeClassFolders(unknown, { rock: 1, lizard: 1 }, 30);
    const bad = await capture(evaluateMain, ['--model', model, '--data', unknown, '--out', path.join(dir, 'out-unknown')]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /class folder\(s\) lizard in .*unknown are not among the training classes \(rock, paper, scissors\)/);
    assert.ok(!fs.existsSync(path.join(dir, 'out-unknown')), 'nothing written');
  });

  test('a missing data folder and a missing model are clear errors', async () => {
    const noData = await capture(evaluateMain, ['--model', model, '--data', path.join(dir, 'nowhere')]);
    assert.equal(noData.code, 1);
    assert.match(noData.err, /data folder not found: .*nowhere/);
    const noModel = await capture(evaluateMain, ['--model', path.join(dir, 'no-model'), '--data', data]);
    assert.equal(noModel.code, 1);
    assert.match(noModel.err, /model folder not found: .*no-model/);
  });
});
