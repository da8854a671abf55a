#!/bin/bash
# Session 12 quiet re-measurement (the lead), from /work/main after the release build; llama.cpp from
# tools/setup_llamacpp.sh (llama-cpp-python 0.3.36's vendored llama.cpp: newer and faster than session 11's).
cd /work/main
export LD_LIBRARY_PATH=/tmp/whittle-llamacpp/llama.cpp/build/bin:$LD_LIBRARY_PATH
R=docs/results/session12; mkdir -p $R
B=/tmp/whittle-bin/bench-s12; OLD=/tmp/whittle-bin/bench-base   # this session's main; session 11's (89a6aea)
stamp() { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
stamp decode-quant; for i in 1 2; do WHITTLE_DECODE_QUANTIZED_ONLY=1 $B decoding; done > $R/decoding-quantized-quiet.log 2>&1
stamp decode-full; $B decoding > $R/decoding-full-quiet.log 2>&1
stamp decode-bf16; WHITTLE_DECODE_HALF_ONLY=1 $B decoding > $R/decoding-bf16-quiet.log 2>&1
stamp nf4-steps-ab; bash tools/bench/ab_decode_steps.sh 4 /tmp/whittle-bench-smollm2-nf4 $OLD $B > $R/ab-nf4-steps-quiet.log 2>&1
stamp prefill; $B prefill > $R/prefill-quiet.log 2>&1
stamp quant-eval; $B quant-eval > $R/quant-eval-quiet.log 2>&1
stamp quant-matmul; $B quant-matmul > $R/quant-matmul-quiet.log 2>&1
stamp done
