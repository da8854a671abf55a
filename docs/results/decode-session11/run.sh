#!/bin/bash
# f32 decode step, session 11 (branch decode3): before/after in alternating rounds, llama.cpp F16 between them.
# usage: run.sh ROUNDS BASE NEW   (BASE: main's whittle-bench; NEW: this branch's). Logs to stdout.
# Each round: BASE, NEW, NEW with this branch's switches off (WHITTLE_DECODE_ATTENTION=blas: per-head sgemm
# attention; WHITTLE_GEMV_ROWS=1: the 16-token prompt on OpenBLAS — the KV cache's huge pages and the fused
# path's direct writes have no switch), each in profile mode (WHITTLE_DECODE_PROFILE=2: two greedy
# generations of 16 + 128 tokens, new tokens ÷ wall incl. prefill, and per CPU-second), then one
# `llama-bench -m F16 -p 0 -n 128 -pg 16,128 -t 2 -r 3`.
rounds=$1; BASE=$2; NEW=$3
BIN=/tmp/whittle-llamacpp/llama.cpp/build/bin; GGUF=${GGUF:-/tmp/whittle-bench-smollm2-f16.gguf}
for r in $(seq 1 "$rounds"); do
  for spec in "$BASE" "$NEW" "$NEW:WHITTLE_DECODE_ATTENTION=blas,WHITTLE_GEMV_ROWS=1"; do
    bin=${spec%%:*}; envs=""; [ "$spec" != "$bin" ] && envs=$(echo "${spec#*:}" | tr ',' ' ')
    echo "== round $r $(basename "$bin") $envs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    env $envs WHITTLE_DECODE_PROFILE=2 "$bin" decoding 2>&1 | grep -E "cached decode|linears alone"
  done
  echo "== round $r llama-bench F16 (load $(cut -d' ' -f1-3 /proc/loadavg))"
  LD_LIBRARY_PATH=$BIN "$BIN/llama-bench" -m "$GGUF" -p 0 -n 128 -pg 16,128 -t 2 -r 3 2>/dev/null | grep -E "tg128|pp16"
done
