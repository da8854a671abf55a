#!/bin/bash
# Whole processes alternating (issue 20, session 10): `whittle-bench prefill ab=none ARGS` with binary A
# and environment A, then B, ROUNDS times; one line per process (wall and CPU medians of its runs).
#   tools/bench/prefill_ab_processes.sh ROUNDS "ARGS" BIN_A "ENV_A" BIN_B "ENV_B"
# e.g. before/after of this session in one binary:
#   tools/bench/prefill_ab_processes.sh 3 "models=smollm2 pairs=3 modes=last threads=1" \
#     .build/release/whittle-bench "WHITTLE_MALLOC=default WHITTLE_PREFILL_GEMM=blas" .build/release/whittle-bench "X=1"
# NICE=-10 runs the processes at that priority (a loaded machine).
R=$1; ARGS=$2; A=$3; EA=$4; B=$5; EB=$6
for r in $(seq 1 "$R"); do
  for side in A B; do
    if [ $side = A ]; then bin=$A; e=$EA; else bin=$B; e=$EB; fi
    line=$(nice -n "${NICE:-0}" env $e "$bin" prefill ab=none $ARGS 2>&1 | grep "prefill ab" | sed 's/.*pairs, //; s/off\/on per pair.*//')
    echo "$side r$r $line"
  done
done
