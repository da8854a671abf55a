#!/bin/bash
# A/B of `whittle-bench quant-matmul` binaries (issue 20, session 10): rounds alternate the variants in
# the same run, so they share the machine's load. Usage:
#   ab_quant_matmul.sh ROUNDS "label=ENV... /path/to/bench" "label=ENV... /path/to/bench" ...
# e.g. ab_quant_matmul.sh 4 "base=/tmp/bench-base" "pin=/tmp/bench-new" "nopin=WHITTLE_POOL_PIN=0 /tmp/bench-new"
# WHITTLE_QUANT_M / WHITTLE_QUANT_SHAPES / WHITTLE_QUANT_SETTLE from the caller's environment apply to all.
rounds=$1; shift
for r in $(seq 1 "$rounds"); do
  for v in "$@"; do
    label=${v%%=*}; cmd=${v#*=}
    echo "== round $r: $label ($cmd) $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    env $cmd quant-matmul 2>&1 | grep '^|' | grep -v 'shape (N'
  done
done
