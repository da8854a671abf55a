#!/bin/bash
# A/B of decode binaries in profile mode (issue 20, sessions 9–10), alternating round by round.
# usage: ab.sh ROUNDS FOLDER BIN[:ENV=V,...] BIN[:ENV=V,...] ...   (FOLDER "f32" = the f32 SmolLM2 folder)
# Binaries are copies of .build/release/whittle-bench; each run: WHITTLE_DECODE_PROFILE=2 (2 cached decodes of 128 tokens).
rounds=$1; folder=$2; shift 2
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    bin=${spec%%:*}; envs=""; [ "$spec" != "$bin" ] && envs=$(echo "${spec#*:}" | tr ',' ' ')
    if [ "$folder" = f32 ]; then f=""; else f="WHITTLE_DECODE_PROFILE_FOLDER=$folder"; fi
    echo "== round $r $(basename "$bin") $envs $f (load $(cut -d' ' -f1-3 /proc/loadavg))"
    env $envs $f WHITTLE_DECODE_PROFILE=2 "$bin" decoding 2>&1 | grep -E "cached decode|linears alone"
  done
done
