#!/bin/bash
# After the background measurement (docs/results/qat/*.json recipes, outputs in /tmp/ternary-out):
# the accuracy / loss chart of the two ternary arms, the tables, and each run's report.md copied here.
set -e
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/ternary-out}
python3 tools/qat/curves.py docs/results/qat/ternary-curves.svg \
  "(a) KD-QAT alone, 120 steps=$OUT/ternary-a" "(b) TI-G step 1 (60) + KD-QAT step 2 (60)=$OUT/ternary-b" | tee docs/results/qat/ternary-curves.md
for r in ternary-a ternary-b bits2-b bits4-b; do
  [ -f "$OUT/$r/report.md" ] || continue
  cp "$OUT/$r/report.md" "docs/results/qat/$r-report.md"
  python3 - "$OUT/$r" <<'PY'
import json, os, sys
folder = sys.argv[1]
report = json.load(open(folder + "/report.json"))
m = [p for p in report["passes"] if p["kind"] == "qat"][0]["metrics"]
size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".safetensors"))
print(f"{os.path.basename(folder)}: fake-quant {m.get('fake_quant_accuracy')}, exported {m.get('exported_accuracy')} (dequantized {m.get('exported_accuracy_dequantized')}), "
      f"safetensors {size / 1e6:.2f} MB")
PY
done | tee -a docs/results/qat/ternary-curves.md
