#!/bin/bash
# Session 11 quiet re-measurement (the lead), run from /work/main after the merged release build.
# Same suites as session 10's (docs/results/session10-quiet/run.sh), plus the A/Bs of this session:
# the pool's pinned helpers (WHITTLE_POOL_PIN) on the quantized linears, settled and back to back.
cd /work/main
export LD_LIBRARY_PATH=/tmp/whittle-llamacpp/llama.cpp/build/bin:$LD_LIBRARY_PATH
R=docs/results/session11-quiet; mkdir -p $R
cp .build/release/compress /tmp/whittle-bin/compress-s11; cp .build/release/whittle-bench /tmp/whittle-bin/bench-s11
B=/tmp/whittle-bin/bench-s11; OLD=/tmp/whittle-bin/bench-s10
stamp() { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
stamp quant-matmul; for i in 1 2; do $B quant-matmul; done > $R/quant-matmul-quiet.log 2>&1
stamp quant-matmul-b2b; WHITTLE_QUANT_SETTLE=0 $B quant-matmul > $R/quant-matmul-back-to-back.log 2>&1
stamp pin-ab-settled; WHITTLE_QUANT_M=16,128 tools/bench/ab_quant_matmul.sh 3 "s10=$OLD" "pin=$B" "nopin=WHITTLE_POOL_PIN=0 $B" > $R/quant-matmul-pin-ab.log 2>&1
stamp decode-quant; WHITTLE_DECODE_QUANTIZED_ONLY=1 $B decoding > $R/decoding-quantized-quiet.log 2>&1
stamp ab-f32; bash docs/results/decode-session9/ab.sh 3 f32 $OLD $B > $R/ab-f32-quiet.log 2>&1
stamp prefill; $B prefill > $R/prefill-quiet.log 2>&1
stamp prefill-before-after; bash tools/bench/prefill_ab_processes.sh 3 "models=smollm2 pairs=3 modes=last" $OLD "X=1" $B "X=1" > $R/prefill-s10-vs-s11.log 2>&1
stamp quant-eval; $B quant-eval > $R/quant-eval-quiet.log 2>&1
stamp decode-bf16; WHITTLE_DECODE_HALF_ONLY=1 $B decoding > $R/decoding-bf16-quiet.log 2>&1
stamp done
