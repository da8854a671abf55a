#!/bin/bash
# OPTIN scoring speed (issue 20, BENCHMARKS.md "OPTIN scoring speed"): ours vs the PyTorch port of the
# reference loop, alternating, at 4 and 16 SST-2 calibration sentences on ../shared/models/minilm-l6-sst2.
# Usage: tools/optin_speed.sh [RUNS_4] [RUNS_16] [PORT_RUNS_16] [optin-speed options…]
#   defaults 3 3 1 (a full 16-sentence port run takes ~16 min on a quiet 2-core machine);
#   e.g. `tools/optin_speed.sh 2 1 2 port-limit=24` times the port on 24 heads + 24 neurons per layer.
# Needs a release build (swift build -c release); WHITTLE_BENCH overrides the binary.
set -e
cd "$(dirname "$0")/.."
BIN=${WHITTLE_BENCH:-.build/release/whittle-bench}
echo "# $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg) commit $(git rev-parse --short HEAD)"
"$BIN" optin-speed sentences=4 runs="${1:-3}" "${@:4}"
echo "# $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" optin-speed sentences=16 runs="${2:-3}" port-runs="${3:-1}" "${@:4}"
echo "# $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)"
