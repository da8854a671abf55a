#!/bin/bash
# What a training checkpoint costs (issue 18 resume): `finetune` of SmolLM2-135M for 4 steps
# (batch 2 × 64 tokens), saving every step vs only after the last one; CPU seconds (user + sys)
# and wall seconds from /usr/bin/time, the checkpoint's size. Usage: tools/resume/save-cost.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$(bash /work/shared/tools/get-smollm2.sh | tail -1)
data=/work/shared/data/tinyshakespeare/input.txt
out=${OUT:-/tmp/whittle-save-cost}
mkdir -p "$out"
cat > "$out/recipe.json" <<JSON
{"version": 1, "model": "$model", "seed": 1,
 "training": {"data": "$data", "samples": 16, "seq_len": 64, "seed": 1},
 "passes": [{"pass": "finetune", "lr": 0.0001, "steps": 4, "batch_size": 2}]}
JSON
for run in $(seq 1 "${1:-2}"); do
  for every in 1 100; do
    rm -rf "$out/model-$every"
    /usr/bin/time -f "{\"save_every\": $every, \"run\": $run, \"user\": %U, \"sys\": %S, \"wall\": %e, \"max_rss_kb\": %M}" \
      .build/release/compress --recipe "$out/recipe.json" --output "$out/model-$every" --quiet --threads 1 --save-every $every \
      2>&1 >/dev/null | tail -1
  done
done
# The checkpoint's size: a run killed after step 2 leaves it in its temporary folder.
rm -rf "$out"/killed*
WHITTLE_KILL_AFTER_STEPS=2 .build/release/compress --recipe "$out/recipe.json" --output "$out/killed" --quiet --threads 1 --save-every 1 >/dev/null 2>&1 || true
echo "{\"checkpoint_bytes\": $(stat -c %s "$out"/killed.tmp-*/progress/'passes[0].training.safetensors')}"
rm -rf "$out"/killed*
