#!/bin/bash
# tools/bench/f32_panel_probe.c built three ways (session 10's gathers and whole-panel split; the new
# packing with the old split; the new packing and 32-row split), run alternating ROUNDS times, each run
# INNER rounds inside (medians and ranges per run).
#   tools/bench/f32_panel_ab.sh [ROUNDS=3] [INNER=5] [smollm2|0.84b|all] > docs/results/prefill-session11/LOG
R=${1:-3}; I=${2:-5}; S=${3:-all}
cd "$(dirname "$0")/../.." || exit 1
for v in "0 16" "1 16" "1 8"; do
  set -- $v
  clang -O2 -DF32_PACK=$1 -DF32_MANY_UNIT=$2 -ISources/CSIMD/include tools/bench/f32_panel_probe.c \
    Sources/CSIMD/nf4_matmul.c Sources/CSIMD/cpu.c Sources/CSIMD/pool.c -o /tmp/f32_panel_probe_$1_$2 -lopenblas -lpthread -lm || exit 1
done
for r in $(seq 1 "$R"); do
  for v in 0_16 1_16 1_8; do
    echo "== round $r, build $v, load $(cut -d' ' -f1-3 /proc/loadavg)"
    /tmp/f32_panel_probe_$v "$I" 512 "$S"
  done
done
