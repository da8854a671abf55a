#!/bin/bash
# Issue 16, real data: SmolLM2-135M-Instruct as the student on SVAMP (and CQA), DSS vs label-only at 12.5 % and
# 100 % of the training data, equal budgets (the `steps`/`batch_size` of recipes/distill-svamp-smollm2.json for
# every method and fraction). Low priority; the report lands in out/smollm2-svamp-dss/report.md.
#   nice -n 10 bash tools/distill_real.sh > out/distill-real.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$(bash ../shared/tools/get-smollm2.sh | tail -1)
echo "student: $MODEL"
mkdir -p out
sed "s|/root/.cache/whittle/models/smollm2-135m-instruct|$MODEL|" recipes/distill-svamp-smollm2.json > out/distill-svamp.json
sed -i 's|"../../shared/|"../../shared/|; s|"../out/|"./|' out/distill-svamp.json
time .build/release/compress run --recipe out/distill-svamp.json --threads 2 --force
if [ "${CQA:-0}" = 1 ]; then
  sed 's|distill/svamp|distill/cqa|; s|smollm2-svamp-dss|smollm2-cqa-dss|' out/distill-svamp.json > out/distill-cqa.json
  time .build/release/compress run --recipe out/distill-cqa.json --threads 2 --force
fi
