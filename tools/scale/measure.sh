#!/usr/bin/env bash
# Per-unit costs for docs/PRODUCTION.md's scale table, measured through the CLI on SmolLM2-135M
# (30 layers, 9 heads, FFN 1536: 270 head items + 1440 neuron batches of 32 = 1710 OPTIN items).
# With --shard I/1710 each task computes exactly one item, so a task's time minus the setup-only
# task's time is that item's cost. Also: perplexity tokens/s and NF4 quantization bytes/s.
# Usage: tools/scale/measure.sh [OUT_DIR]   (prints a JSON line per measurement; noisy on a shared machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.build/release/compress
model=$(bash ../shared/tools/get-smollm2.sh 2>/dev/null | tail -1)
data=../shared/data/wikitext2/wikitext2-raw-test.joined.txt
out=${1:-/tmp/whittle-scale}
mkdir -p "$out"
cat > "$out/optin.json" <<JSON
{"version": 1, "model": "$model", "output": "$out/optin-out",
 "calibration": {"data": "$(realpath $data)", "samples": 4, "seq_len": 64, "seed": 0},
 "passes": [{"pass": "optin", "flops_ratio": 0.6}]}
JSON
measure() {  # label, command...  (ONLY=regex measures the matching labels only)
  local label=$1; shift
  [[ -z "${ONLY:-}" || "$label" =~ $ONLY ]] || return 0
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$@" >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  read -r secs user sys kb < "$out/time"
  # CPU seconds (user + sys) are the cost figure: wall time on a loaded machine is mostly waiting.
  echo "{\"what\": \"$label\", \"wall_s\": $secs, \"cpu_s\": $(printf "%.2f" "$(echo "$user + $sys" | bc)"), \"peak_rss_mb\": $((kb / 1024))}"
}
# Setup only: slice 1 of 3420 holds no item (load, calibration forward, caches).
measure "optin setup only" $bin --recipe "$out/optin.json" --shard 1/3420 --force --threads 1 --quiet
# The last neuron batch of the last layer: no later layer, only the head and KL for 32 copies.
measure "optin setup + last-layer neuron batch" $bin --recipe "$out/optin.json" --shard 1710/1710 --force --threads 1 --quiet
measure "optin head item, layer 0 (30 layers)" $bin --recipe "$out/optin.json" --shard 1/1710 --force --threads 1 --quiet
measure "optin head item, layer 15 (15 layers)" $bin --recipe "$out/optin.json" --shard 136/1710 --force --threads 1 --quiet
measure "optin neuron batch (32), layer 0 (29 layers)" $bin --recipe "$out/optin.json" --shard 271/1710 --force --threads 1 --quiet
measure "optin neuron batch (32), layer 15 (14 layers)" $bin --recipe "$out/optin.json" --shard 991/1710 --force --threads 1 --quiet
OPENBLAS_NUM_THREADS=1 measure "perplexity 8192 tokens (16 windows of 512)" $bin eval --model "$model" --data "$data" --seq-len 512 --max-tokens 8192 --json
cat > "$out/nf4.json" <<JSON
{"version": 1, "model": "$model", "output": "$out/nf4-out", "passes": [{"pass": "nf4"}]}
JSON
measure "nf4 whole model" $bin --recipe "$out/nf4.json" --force --threads 1 --quiet
du -sb "$model/model.safetensors"
