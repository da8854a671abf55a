#!/bin/bash
# Session 12, second part: the BF16 copy (tools/bench/smollm2_bf16.py) and its decoding, then a second
# quant-eval and quant-matmul for ranges.
cd /work/main
export LD_LIBRARY_PATH=/tmp/whittle-llamacpp/llama.cpp/build/bin:$LD_LIBRARY_PATH
R=docs/results/session12; B=/tmp/whittle-bin/bench-s12
stamp() { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
stamp bf16-copy; /root/venv/bin/python tools/bench/smollm2_bf16.py > $R/bf16-copy.log 2>&1
stamp decode-bf16; WHITTLE_DECODE_HALF_ONLY=1 $B decoding > $R/decoding-bf16-quiet.log 2>&1
stamp quant-eval-2; $B quant-eval > $R/quant-eval-quiet-2.log 2>&1
stamp quant-matmul-2; $B quant-matmul > $R/quant-matmul-quiet-2.log 2>&1
stamp done
