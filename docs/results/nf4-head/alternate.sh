#!/bin/bash
# Alternating NF4 / NF4+head (ours, profile mode: cached 128-token decodes of a compressed folder) and llama.cpp Q4_0.
B=${WHITTLE_BENCH:-.build/release/whittle-bench}   # run from the repository root
L=/tmp/whittle-llamacpp/llama.cpp/build/bin
for round in 1 2 3; do
  echo "round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for v in nf4 nf4+head; do
    echo "ours $v:"; WHITTLE_DECODE_PROFILE=2 WHITTLE_DECODE_PROFILE_FOLDER=/tmp/whittle-bench-smollm2-$v $B decoding 2>&1 | grep "cached decode"
  done
  echo "llama.cpp Q4_0:"; LD_LIBRARY_PATH=$L $L/llama-bench -m /tmp/whittle-bench-smollm2-q4_0.gguf -p 0 -n 128 -pg 16,128 -t 2 -r 2 2>/dev/null | grep -E "tg128|pp16"
done
