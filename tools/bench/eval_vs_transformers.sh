#!/usr/bin/env bash
# `compress eval` perplexity on SmolLM2-135M (f32 folder), WikiText-2 test, 8 × 512-token windows, 2 threads,
# against transformers (tools/bench/wikitext_ppl_transformers.py: same windows, same 30.64 perplexity),
# alternating ROUNDS times (default 3). Wall time of each whole process (load + tokenize + forward) on both sides.
# Run from the repository root after a release build: bash tools/bench/eval_vs_transformers.sh [ROUNDS]
set -euo pipefail
ROUNDS=${1:-3}
MODEL=${WHITTLE_SMOLLM2:-$HOME/.cache/whittle/models/smollm2-135m-instruct}
DATA=${WHITTLE_WIKITEXT:-/work/shared/data/wikitext2/wikitext2-raw-test.joined.txt}
PY=${WHITTLE_PYTHON:-/root/venv/bin/python}
now() { date +%s.%N; }
echo "eval vs transformers: $MODEL, $(basename "$DATA"), 8 x 512 windows, 2 threads, $ROUNDS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  t0=$(now)
  ppl=$(.build/release/compress eval --model "$MODEL" --data "$DATA" --seq-len 512 --max-tokens 4097 --threads 2 --json \
        | grep -o '"value" *: *[0-9.]*' | head -1 | grep -o '[0-9.]*$')
  t1=$(now)
  ref=$(OMP_NUM_THREADS=2 "$PY" tools/bench/wikitext_ppl_transformers.py "$MODEL" 2>/dev/null | grep -o 'perplexity [0-9.]*')
  t2=$(now)
  printf "round %d: ours %.2f s (perplexity %s), transformers %.2f s (%s); load %s\n" "$r" \
    "$(echo "$t1 - $t0" | bc)" "$ppl" "$(echo "$t2 - $t1" | bc)" "$ref" "$(cut -d' ' -f1 /proc/loadavg)"
done
