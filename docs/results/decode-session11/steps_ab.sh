#!/bin/bash
# A/B of decode binaries in step-timing mode (issue 20, session 11), alternating round by round.
# usage: steps_ab.sh ROUNDS GENERATIONS BIN[:ENV=V,...] BIN[:ENV=V,...] ...
# Each run: WHITTLE_DECODE_STEPS=GENERATIONS (f32 SmolLM2, 16-token prompt + 128 new tokens, each phase timed).
rounds=$1; gens=$2; shift 2
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    bin=${spec%%:*}; envs=""; [ "$spec" != "$bin" ] && envs=$(echo "${spec#*:}" | tr ',' ' ')
    echo "== round $r $(basename "$bin") $envs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    env $envs WHITTLE_DECODE_STEPS="$gens" "$bin" decoding 2>&1 | grep -E "^step timing|^generation"
  done
done
