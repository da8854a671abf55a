#!/bin/bash
# Quiet re-measurement of issue 20's decoding (session 9), for the lead on an otherwise idle machine.
# Run from the repository root after `swift build -c release -Xswiftc -enable-testing --build-tests --disable-swift-testing`.
# BASE: the binary before this branch (main at 06abeca; kept as /tmp/whittle-bin-decode/bench-base).
set -e
D=docs/results/decode-session9
BASE=${BASE:-/tmp/whittle-bin-decode/bench-base}
NEW=/tmp/whittle-bin-decode/bench-session9
BF=$HOME/.cache/whittle/models/smollm2-135m-instruct-bf16
mkdir -p /tmp/whittle-bin-decode && cp .build/release/whittle-bench "$NEW"
export LD_LIBRARY_PATH=/tmp/whittle-llamacpp/llama.cpp/build/bin:$LD_LIBRARY_PATH
# 1. The must-show: BF16 / f32 / transformers bf16 / llama-bench F16 and BF16, same run.
WHITTLE_DECODE_HALF_ONLY=1 "$NEW" decoding 2>&1 | tee $D/decoding-bf16-quiet.log
# 2. f32 / W8A8 / NF4 (± quantized heads) against llama-bench F16 / Q8_0 / Q4_0, same run.
WHITTLE_DECODE_QUANTIZED_ONLY=1 "$NEW" decoding 2>&1 | tee $D/decoding-quantized-quiet.log
# 3. Attribution, binaries alternating round by round (profile mode: 2 cached decodes a run):
#    base = before; new = all of session 9; WHITTLE_POOL_MIN_WORK=262144 = the old split threshold;
#    WHITTLE_SGEMV=blas = OpenBLAS sgemv for the f32 one-row products (the f32 linears and f32 heads).
$D/ab.sh 3 "$BF" "$BASE" "$NEW" "$NEW:WHITTLE_POOL_MIN_WORK=262144" 2>&1 | tee $D/ab-bf16-quiet.log
$D/ab.sh 3 f32 "$BASE" "$NEW" "$NEW:WHITTLE_SGEMV=blas" 2>&1 | tee $D/ab-f32-quiet.log
$D/ab.sh 3 /tmp/whittle-bench-smollm2-w8a8 "$BASE" "$NEW" "$NEW:WHITTLE_SGEMV=blas" 2>&1 | tee $D/ab-w8a8-quiet.log
$D/ab.sh 3 /tmp/whittle-bench-smollm2-nf4 "$BASE" "$NEW" "$NEW:WHITTLE_SGEMV=blas" 2>&1 | tee $D/ab-nf4-quiet.log
