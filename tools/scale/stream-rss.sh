#!/usr/bin/env bash
# Layer-streamed vs whole-model OPTIN scoring on SmolLM2-135M (issue 18 "Larger than memory"),
# through the CLI: each run is one `compress --shard I/1710` task (setup + exactly one work item),
# once with the pass's `"streaming": true` and once without. Prints one JSON line per run (wall,
# CPU = user + sys, peak RSS = /usr/bin/time's max RSS, i.e. VmHWM) and then whether the items each
# mode wrote (`<output>.shard-I-of-1710/work.json`, the item's MD and KL as JSON) are byte-identical.
# OLD=path/to/compress adds the same runs with another binary (e.g. main before this change).
# FINERCUT_SAMPLES / FINERCUT_SEQ_LEN size the FinerCut calibration (default 4 × 64).
# Usage: tools/scale/stream-rss.sh [OUT_DIR] [REPEATS]   (wall times are noisy on a shared machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$(bash ../shared/tools/get-smollm2.sh 2>/dev/null | tail -1)
data=$(realpath ../shared/data/wikitext2/wikitext2-raw-test.joined.txt)
out=${1:-/tmp/whittle-stream-rss}
repeats=${2:-2}
mkdir -p "$out"
cp .build/release/compress "$out/compress"   # a rebuild during the runs does not change what is measured
bin=$out/compress
for mode in whole streamed; do
  streaming=false; [[ $mode == streamed ]] && streaming=true
  cat > "$out/$mode.json" <<JSON
{"version": 1, "model": "$model", "output": "$out/$mode-out",
 "calibration": {"data": "$data", "samples": 4, "seq_len": 64, "seed": 0},
 "passes": [{"pass": "optin", "flops_ratio": 0.6, "streaming": $streaming}]}
JSON
done
# main's binary does not know the key: the same recipe without it.
sed 's/, "streaming": false//' "$out/whole.json" > "$out/old.json"
sed -i "s|$out/whole-out|$out/old-out|" "$out/old.json"
items() {  # the computed items of a shard's partial result, without the fingerprint
  /root/venv/bin/python -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("items", {}), sort_keys=True))' "$1"
}
run() {  # label binary mode shard
  local label=$1 binary=$2 mode=$3 shard=$4 n=${4%/*}
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$binary" --recipe "$out/$mode.json" --shard "$shard" --force --threads 1 --quiet \
    >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  read -r secs user sys kb < "$out/time"
  items "$out/$mode-out.shard-$n-of-${shard#*/}/work.json" > "$out/$mode-$n-${shard#*/}.items"
  echo "{\"what\": \"$label\", \"mode\": \"$mode\", \"shard\": \"$shard\", \"wall_s\": $secs, \"cpu_s\": $(printf "%.2f" "$(echo "$user + $sys" | bc)"), \"peak_rss_mb\": $((kb / 1024)), \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
}
finercut() {  # label binary mode: one greedy step (all 60 candidates) of FinerCut, whole run without evaluation
  local label=$1 binary=$2 mode=$3
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$binary" --recipe "$out/finercut-$mode.json" --force --threads 1 --quiet \
    >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  read -r secs user sys kb < "$out/time"
  /root/venv/bin/python -c 'import json,sys; p=[p for p in json.load(open(sys.argv[1]))["passes"] if p["kind"]=="finercut"][0]; print(json.dumps([p["notes"][0], [s["values"] for s in p["series"]]]))' \
    "$out/finercut-$mode-out/report.json" > "$out/finercut-$mode.order"
  echo "{\"what\": \"$label\", \"mode\": \"$mode\", \"wall_s\": $secs, \"cpu_s\": $(printf "%.2f" "$(echo "$user + $sys" | bc)"), \"peak_rss_mb\": $((kb / 1024)), \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
}
for mode in whole streamed old; do
  streaming=", \"streaming\": false"; [[ $mode == streamed ]] && streaming=", \"streaming\": true"; [[ $mode == old ]] && streaming=""
  cat > "$out/finercut-$mode.json" <<JSON
{"version": 1, "model": "$model", "output": "$out/finercut-$mode-out",
 "calibration": {"data": "$data", "samples": ${FINERCUT_SAMPLES:-4}, "seq_len": ${FINERCUT_SEQ_LEN:-64}, "seed": 0},
 "passes": [{"pass": "finercut", "remove_count": 1, "full_order": false$streaming}]}
JSON
done
for r in $(seq "$repeats"); do
  if [[ $r == 2 || ${ONLY:-} == finercut ]]; then  # FinerCut once, between the OPTIN repeats (ONLY=finercut: just that)
    finercut "finercut, 1 step (60 candidates)" "$bin" whole
    finercut "finercut, 1 step (60 candidates)" "$bin" streamed
    [[ -n "${OLD:-}" ]] && finercut "finercut, 1 step (60 candidates)" "$OLD" old
    same=false; cmp -s "$out/finercut-whole.order" "$out/finercut-streamed.order" && same=true
    old=null; [[ -f "$out/finercut-old.order" ]] && { cmp -s "$out/finercut-whole.order" "$out/finercut-old.order" && old=true || old=false; }
    echo "{\"what\": \"finercut order\", \"identical_whole_streamed\": $same, \"identical_whole_old\": $old, \"order\": $(cat "$out/finercut-streamed.order")}"
    [[ ${ONLY:-} == finercut ]] && exit 0
  fi
  for item in "setup only:1/3420" "head of layer 0:1/1710" "neuron batch (32) of layer 0:271/1710" "neuron batch of layer 29:1710/1710"; do
    label=${item%%:*}; shard=${item##*:}
    run "$label" "$bin" whole "$shard"
    run "$label" "$bin" streamed "$shard"
    [[ -n "${OLD:-}" && $r == 1 ]] && run "$label" "$OLD" old "$shard"
    n=${shard%/*}-${shard#*/}
    if cmp -s "$out/whole-$n.items" "$out/streamed-$n.items"; then same=true; else same=false; fi
    old=null; [[ -f "$out/old-$n.items" ]] && { cmp -s "$out/whole-$n.items" "$out/old-$n.items" && old=true || old=false; }
    echo "{\"what\": \"$label\", \"items_identical_whole_streamed\": $same, \"items_identical_whole_old\": $old, \"items\": $(cat "$out/streamed-$n.items")}"
  done
done
