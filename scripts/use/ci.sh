#!/usr/bin/env bash
# CI for the commands that use a trained model, on real trained models (small settings):
#  1. `npm run train` saves <out>/model; notebook 04 (run by scripts/notebooks/ci.sh before this) saved its run
#     folder <cacheDir>/runs/<key>/ (fine-tune/classifier inside);
#  2. on each: `npm run predict` on the rendered test images, `npm run evaluate --report` on the rendered data
#     (a folder holding rps-test-set/), `npm run demo --export`;
#  3. the browser demo tests (headless Chromium) on each model: the page's probabilities equal predictImage's.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RPS_REQUIRE_BROWSER=1
OUT=reports/use
TS="node_modules/.bin/ts-node --transpile-only"
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== use: npm run train (small settings)"
$TS lib/cli/train.ts --data rendered --rendered-train 150 --rendered-test 60 --image-size 96 --head-epochs 3 --fine-tune-epochs 2 \
  --base embedded --progress lines --out "$OUT/train"

# The newest run folder that notebook 04 saved a classifier in (npm run train's folder holds only its run records).
CLASSIFIER=$(ls -td data/runs/*/fine-tune/classifier 2>/dev/null | head -1)
[ -n "$CLASSIFIER" ] || { echo "no notebook 04 run folder under data/runs/ (run scripts/notebooks/ci.sh first)"; exit 1; }
RUN=$(dirname "$(dirname "$CLASSIFIER")")
DATA=$(dirname "$(ls -td data/rendered-v2-*/rps-test-set | head -1)")

for MODEL in "$OUT/train" "$RUN"; do
  NAME=$(basename "$MODEL")
  echo "== use: $MODEL"
  $TS lib/cli/predict.ts --model "$MODEL" "$DATA/rps-test-set/rock" > "$OUT/$NAME-predict.txt"
  head -3 "$OUT/$NAME-predict.txt"
  $TS lib/cli/evaluate.ts --model "$MODEL" --data "$DATA" --out "$OUT/$NAME-evaluation" --report
  $TS lib/cli/demo.ts --model "$MODEL" --export "$OUT/$NAME-demo"
  RPS_DEMO_MODEL="$MODEL" node scripts/test.js test/browser/demo.test.ts
done
