/**
 * Checks in headless Chromium that every plotly chart in the HTML reports really draws: each chart
 * `<div>` written by `showFigure` must hold plotly's `.main-svg` after the page's scripts ran.
 * Optionally saves a screenshot of each page.
 *
 *   ts-node --transpile-only scripts/notebooks/check-reports.ts [reports-dir|file.html ...]
 *     [--screenshots <dir>] [--require-charts]
 * Chromium: $CHROMIUM, else `chromium`, `chromium-browser`, `google-chrome` on PATH.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PLOTLY_CHART_CLASS } from '../../lib/report/display';

export interface ChartCheck {
  file: string;
  charts: number;
  drawn: number;
  /** Ids of charts that did not draw. */
  missing: string[];
}

export function findChromium(): string {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean) as string[];
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install Debian's 'chromium' or set CHROMIUM`);
}

function chromiumArgs(): string[] {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  return ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--virtual-time-budget=5000'];
}

/** Counts chart divs in a DOM dump and which of them hold a drawn plot. */
export function countDrawnCharts(dom: string): { charts: number; drawn: number; missing: string[] } {
  const opening = new RegExp(`<div id="([^"]+)" class="${PLOTLY_CHART_CLASS}[^"]*"`, 'g');
  const starts: { id: string; index: number }[] = [];
  for (let m = opening.exec(dom); m; m = opening.exec(dom)) starts.push({ id: m[1], index: m.index });
  const missing: string[] = [];
  starts.forEach((s, i) => {
    // Plotly draws inside the chart div, before anything that follows it (at the latest, the next chart).
    const segment = dom.slice(s.index, i + 1 < starts.length ? starts[i + 1].index : dom.length);
    if (!/class="main-svg"/.test(segment)) missing.push(s.id);
  });
  return { charts: starts.length, drawn: starts.length - missing.length, missing };
}

/** Loads a page in headless Chromium, lets its scripts run, and checks its charts. */
export function checkReport(file: string, chromium = findChromium()): ChartCheck {
  const url = `file://${path.resolve(file)}`;
  const r = spawnSync(chromium, [...chromiumArgs(), '--dump-dom', url], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 180_000 });
  if (r.status !== 0 || !r.stdout) throw new Error(`${file}: chromium --dump-dom failed (status ${r.status}): ${(r.stderr ?? '').slice(-500)}`);
  return { file, ...countDrawnCharts(r.stdout) };
}

/** Saves a full-width screenshot of a page. */
export function screenshot(file: string, png: string, chromium = findChromium(), height = 3000): void {
  const r = spawnSync(chromium, [...chromiumArgs(), '--window-size=1200,' + height, `--screenshot=${path.resolve(png)}`, `file://${path.resolve(file)}`], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0 || !fs.existsSync(png)) throw new Error(`${file}: chromium --screenshot failed (status ${r.status}): ${(r.stderr ?? '').slice(-500)}`);
}

function reportFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args.length ? args : ['reports']) {
    if (fs.statSync(a).isDirectory()) {
      for (const f of fs.readdirSync(a).sort()) if (f.endsWith('.html') && f !== 'index.html') out.push(path.join(a, f));
    } else {
      out.push(a);
    }
  }
  if (!out.length) throw new Error(`no HTML reports found in ${args.join(' ') || 'reports'}`);
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  let shots: string | undefined;
  let requireCharts = false;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--screenshots') shots = args[++i];
    else if (args[i] === '--require-charts') requireCharts = true;
    else inputs.push(args[i]);
  }
  const chromium = findChromium();
  let failed = false;
  for (const file of reportFiles(inputs)) {
    const c = checkReport(file, chromium);
    const bad = c.missing.length > 0 || (requireCharts && c.charts === 0);
    failed ||= bad;
    console.log(`${bad ? 'FAIL' : 'ok  '} ${file}: ${c.drawn}/${c.charts} charts drawn${c.missing.length ? ` (not drawn: ${c.missing.join(', ')})` : ''}`);
    if (shots) {
      fs.mkdirSync(shots, { recursive: true });
      const png = path.join(shots, `${path.basename(file, '.html')}.png`);
      screenshot(file, png, chromium);
      console.log(`     screenshot ${png}`);
    }
  }
  if (failed) {
    console.error('check-reports: some charts did not draw (or a report has none with --require-charts)');
    process.exit(1);
  }
}

if (require.main === module) main();
