#!/bin/bash
# BF16 SmolLM2-135M perplexity evaluation (8 × 512-token windows of WikiText-2, as session 8's
# eval-bf16-vs-f32-quiet-session8.log) with tiledMatmul's 64-row tiles (BEFORE: a build of main without
# this branch) and with 256-row tiles from M = 64 (AFTER: this branch), f32 folder with AFTER for
# reference; rounds alternate. Usage: eval-bf16-tiles-s9.sh BEFORE_COMPRESS AFTER_COMPRESS [rounds]
set -u
before=$1; after=$2; rounds=${3:-3}
models=/root/.cache/whittle/models; data=/work/shared/data/wikitext2/wikitext2-raw-test.joined.txt
echo "start $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
    for side in before after f32; do
        case $side in before) bin=$before; m=$models/smollm2-135m-instruct-bf16;; after) bin=$after; m=$models/smollm2-135m-instruct-bf16;; f32) bin=$after; m=$models/smollm2-135m-instruct;; esac
        /usr/bin/time -f "$side: %e s wall, %U+%S s CPU" "$bin" eval --model "$m" --data "$data" --seq-len 512 --max-tokens 4097 2>&1 | tail -4
    done
done
echo "end $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
