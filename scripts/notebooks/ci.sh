#!/usr/bin/env bash
# CI for the notebooks, on small settings (RPS_SMALL=1: a small rendered data set, 96 px, few epochs):
#  1. `npm start` (Node only) executes all five notebooks and writes reports/ (index, HTML, executed .ipynb);
#  2. headless Chromium checks that every chart in those reports draws, and saves screenshots;
#  3. the same notebooks run under real Jupyter (nbclient + the project's tslab kernelspec), failing on any
#     cell error and on unhandled rejections, also after a cell ended; exported to HTML (lab template);
#  4. Chromium checks the charts of the Jupyter exports too.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RPS_SMALL=1
TS="node_modules/.bin/ts-node --transpile-only"

echo "== notebooks: npm start (Node only, small settings)"
$TS scripts/start.ts --small -o reports
echo "== notebooks: charts in reports/ (headless Chromium)"
$TS scripts/notebooks/check-reports.ts reports --require-charts --screenshots reports/screenshots
echo "== notebooks: real Jupyter (nbclient, tslab-rps kernel)"
$TS scripts/notebooks/run-jupyter.ts --small --out reports/jupyter
echo "== notebooks: charts in the Jupyter HTML exports (headless Chromium)"
$TS scripts/notebooks/check-reports.ts reports/jupyter --require-charts
