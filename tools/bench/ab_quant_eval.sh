#!/bin/bash
# quant-eval A/B (issue 20, session 10): whole bench processes alternating, 2 rounds; run from a folder
# holding bin/bench-base and bin/bench-new4 (the two binaries to compare).
for r in 1 2; do
  for v in base new4; do
    echo "== round $r: $v $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    ./bin/bench-$v quant-eval 2>&1 | grep -E "quant-eval|f32:|nf4:|w8a8:"
  done
done
