/**
 * A notebook in a live Jupyter page, as a user runs it: Debian's classic Notebook (jupyter-notebook) with the
 * project's kernelspec on 127.0.0.1 with a token, notebooks/02_preprocess.ipynb opened in headless Chromium, all
 * cells run from the page. Then no cell shows an error and every plotly chart in the page has drawn. Then the
 * parameters cell is changed through the page (a different examplesPerClass), re-run, and its output and the
 * example gallery below change accordingly.
 *
 * Small settings: the small preset's values (except examplesPerClass, which the test changes in the cell) come
 * from the environment, with a private cache folder. The notebook is a copy, so Jupyter's autosave cannot touch
 * the project's file.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SMALL_PRESET, parameterEnvName } from '../../lib/experiment/parameters';
import { NOTEBOOKS_DIR } from '../../lib/report/runner';
import { PLOTLY_CHART_CLASS } from '../../lib/report/display';
import { tempDir } from '../model/helpers';
import { ROOT, chromiumPath, launchChromium, skipUnless } from './browser';

const NOTEBOOK = '02_preprocess.ipynb';
/** The parameter the test changes through the page. */
const CHANGED = 'examplesPerClass';

function jupyterMissing(): string | undefined {
  const r = spawnSync('jupyter-notebook', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'no jupyter-notebook found (Debian: apt-get install jupyter-notebook)';
}

const chromium = chromiumPath();
const skip = skipUnless(chromium ? jupyterMissing() : 'no Chromium found (Debian: apt-get install chromium)');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The kernel's environment: small settings, a private cache, nothing of the developer's own RPS_* variables. */
function kernelEnv(work: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RPS_') && !k.startsWith('JUPYTER')));
  for (const [key, value] of Object.entries(SMALL_PRESET)) if (key !== CHANGED) env[parameterEnvName(key)] = String(value);
  return {
    ...env,
    RPS_BASE: 'embedded',
    RPS_ENGINE: 'wasm',
    RPS_CACHE_DIR: path.join(work, 'cache'),
    RPS_KERNEL_FAULT_LOG: path.join(work, 'faults.jsonl'),
    JUPYTER_PATH: path.join(ROOT, 'jupyter'),
    JUPYTER_CONFIG_DIR: path.join(work, 'jupyter-config'),
    JUPYTER_DATA_DIR: path.join(work, 'jupyter-data'),
    JUPYTER_RUNTIME_DIR: path.join(work, 'jupyter-runtime'),
    IPYTHONDIR: path.join(work, 'ipython'),
  };
}

/** Waits until no code cell is queued or running and the kernel is idle. */
async function waitForKernel(page: Page, ms: number): Promise<void> {
  await page.waitForFunction(
    () => {
      const J = (window as unknown as { Jupyter?: any }).Jupyter;
      if (!J?.notebook?._fully_loaded || !J.notebook.kernel?.info_reply) return false;
      const idle = document.getElementById('kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
      return idle && J.notebook.get_cells().every((c: any) => c.cell_type !== 'code' || c.input_prompt_number !== '*');
    },
    null,
    { timeout: ms, polling: 500 },
  );
}

interface CellState {
  index: number;
  executed: boolean;
  errors: string[];
  html: string;
  images: number;
}

async function cellStates(page: Page): Promise<CellState[]> {
  return page.evaluate(() => {
    const J = (window as unknown as { Jupyter: any }).Jupyter;
    return J.notebook
      .get_cells()
      .map((c: any, index: number) => ({ c, index }))
      .filter(({ c }: { c: any }) => c.cell_type === 'code')
      .map(({ c, index }: { c: any; index: number }) => {
        const el = c.output_area.element[0] as HTMLElement;
        return {
          index,
          executed: typeof c.input_prompt_number === 'number',
          errors: c.output_area.outputs.filter((o: any) => o.output_type === 'error').map((o: any) => `${o.ename}: ${o.evalue}`),
          html: el.innerHTML,
          images: el.querySelectorAll('img').length,
        };
      });
  });
}

/** Waits until every plotly chart div in the page holds a drawn plot; returns their number. */
async function chartsDrawn(page: Page): Promise<number> {
  await page.waitForFunction(
    (cls) => [...document.querySelectorAll(`.${cls}`)].every((el) => el.querySelector('.main-svg')),
    PLOTLY_CHART_CLASS,
    { timeout: 60_000 },
  );
  return page.evaluate((cls) => document.querySelectorAll(`.${cls}`).length, PLOTLY_CHART_CLASS);
}

function assertNoErrors(cells: CellState[], when: string): void {
  const failed = cells.filter((c) => c.errors.length);
  assert.deepEqual(failed.map((c) => `cell ${c.index}: ${c.errors.join('; ')}`), [], `${when}: cells show errors`);
}

describe('a notebook in a live Jupyter page (classic Notebook, headless Chromium)', { skip }, () => {
  let work: string;
  let jupyter: ChildProcess;
  let log = '';
  let base: string;
  let token: string;
  let browser: Browser;
  let page: Page;

  before(async () => {
    work = tempDir('jupyter');
    const nbDir = path.join(work, 'notebooks');
    fs.mkdirSync(nbDir);
    fs.copyFileSync(path.join(NOTEBOOKS_DIR, NOTEBOOK), path.join(nbDir, NOTEBOOK));
    const port = await freePort();
    token = randomBytes(16).toString('hex');
    base = `http://127.0.0.1:${port}`;
    jupyter = spawn(
      'jupyter-notebook',
      ['--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--NotebookApp.token=${token}`, `--notebook-dir=${nbDir}`, '--allow-root'],
      { env: kernelEnv(work), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    jupyter.stdout!.on('data', (d) => (log += d));
    jupyter.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (jupyter.exitCode !== null) throw new Error(`jupyter-notebook exited (${jupyter.exitCode}):\n${log}`);
      const ok = await fetch(`${base}/api/status`, { headers: { Authorization: `token ${token}` } }).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`jupyter-notebook did not answer on ${base} within 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    browser = await launchChromium(chromium!);
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    if (jupyter && jupyter.exitCode === null) {
      // Shut the kernels down through the server, then the server itself.
      const auth = { Authorization: `token ${token}` };
      const sessions = (await fetch(`${base}/api/sessions`, { headers: auth }).then((r) => r.json(), () => [])) as { id: string }[];
      for (const s of sessions) await fetch(`${base}/api/sessions/${s.id}`, { method: 'DELETE', headers: auth }).catch(() => undefined);
      const exited = new Promise((r) => jupyter.once('exit', r));
      jupyter.kill('SIGTERM');
      const timer = setTimeout(() => jupyter.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('run all cells from the page: no errors, every chart drawn; a changed parameter changes the output', { timeout: 600_000 }, async () => {
    await page.goto(`${base}/notebooks/${NOTEBOOK}?token=${token}`);
    await waitForKernel(page, 120_000);
    assert.equal(await page.evaluate(() => (window as unknown as { Jupyter: any }).Jupyter.notebook.kernel.name), 'tslab-rps');

    await page.evaluate(() => (window as unknown as { Jupyter: any }).Jupyter.notebook.execute_all_cells());
    await waitForKernel(page, 480_000);
    const first = await cellStates(page);
    assertNoErrors(first, 'run all');
    assert.deepEqual(first.filter((c) => !c.executed).map((c) => c.index), [], 'every code cell ran');
    assert.ok((await chartsDrawn(page)) >= 1, 'the notebook shows charts');

    // The parameters cell, changed in the page's editor and re-run.
    const params = await page.evaluate(() =>
      (window as unknown as { Jupyter: any }).Jupyter.notebook.get_cells().findIndex((c: any) => c.cell_type === 'code' && c.get_text().includes('notebookParameters(')),
    );
    assert.ok(params >= 0, 'the notebook has a parameters cell');
    const text: string = await page.evaluate((i) => (window as unknown as { Jupyter: any }).Jupyter.notebook.get_cell(i).get_text(), params);
    const m = text.match(new RegExp(`(${CHANGED}\\s*:\\s*)(\\d+)`));
    assert.ok(m, `the parameters cell sets ${CHANGED} to a number`);
    const old = Number(m[2]);
    const changed = old === 1 ? 2 : 1;
    await page.evaluate(
      ([i, t]) => {
        const cell = (window as unknown as { Jupyter: any }).Jupyter.notebook.get_cell(i);
        cell.set_text(t);
        cell.execute();
      },
      [params, text.replace(m[0], `${m[1]}${changed}`)] as [number, string],
    );
    await waitForKernel(page, 120_000);
    const rerun = (await cellStates(page)).find((c) => c.index === params)!;
    assertNoErrors([rerun], 're-run of the parameters cell');
    const paramsBefore = first.find((c) => c.index === params)!.html;
    assert.notEqual(rerun.html, paramsBefore, 'the parameters cell shows the new value');

    // The cells below it, re-run: the example gallery shows `changed` instead of `old` images per class.
    const count = await page.evaluate(() => (window as unknown as { Jupyter: any }).Jupyter.notebook.ncells());
    await page.evaluate(([from, to]) => (window as unknown as { Jupyter: any }).Jupyter.notebook.execute_cell_range(from, to), [params + 1, count] as [number, number]);
    await waitForKernel(page, 300_000);
    const second = await cellStates(page);
    assertNoErrors(second, 're-run below the parameters cell');
    const images = (cells: CellState[]) => cells.filter((c) => c.index > params).reduce((a, c) => a + c.images, 0);
    assert.ok(images(first) > 0, 'the cells below the parameters show images');
    if (changed < old) assert.ok(images(second) < images(first), `${CHANGED} ${old} -> ${changed}: images ${images(first)} -> ${images(second)}`);
    else assert.ok(images(second) > images(first), `${CHANGED} ${old} -> ${changed}: images ${images(first)} -> ${images(second)}`);
    assert.ok((await chartsDrawn(page)) >= 1);
    const faults = path.join(work, 'faults.jsonl');
    assert.equal(fs.existsSync(faults) ? fs.readFileSync(faults, 'utf8') : '', '', 'no unhandled rejection in the kernel');
  });
});
