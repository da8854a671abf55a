"""Summary of tools/bench/f32_panel_ab.sh's log: per build and shape, the range over runs of each run's
median (packing µs, its share of the one-thread GEMM, GFLOP/s of the panel GEMM and of sgemm)."""
import re, sys
from collections import defaultdict
runs = defaultdict(lambda: defaultdict(list))
build = None
for line in open(sys.argv[1]):
    m = re.match(r"== round \d+, build ([^,\s]+)", line)
    if m: build = m.group(1); continue
    m = re.match(r"(\S+ \S+)\s+N\s+\d+ K\s+\d+ \| pack µs ([\d.]+) .*?% of 1t GEMM ([\d.]+) .*?1t panel ([\d.]+) .*?many ([\d.]+) .*?sgemm ([\d.]+) .*?2t many ([\d.]+) .*?sgemm ([\d.]+)", line)
    if m and build:
        for k, v in zip(["pack_us", "pack_%", "1t_panel", "1t_many", "1t_sgemm", "2t_many", "2t_sgemm"], m.groups()[1:]):
            runs[(m.group(1), build)][k].append(float(v))
keys = ["pack_us", "pack_%", "1t_panel", "1t_sgemm", "2t_many", "2t_sgemm"]
print("shape            build | " + " | ".join(keys))
for (shape, b), d in sorted(runs.items()):
    print(f"{shape:16s} {b:5s} | " + " | ".join(f"{min(d[k]):.1f}–{max(d[k]):.1f}" for k in keys)
          + f" | panel/sgemm 1t {min(p / s for p, s in zip(d['1t_panel'], d['1t_sgemm'])):.2f}–{max(p / s for p, s in zip(d['1t_panel'], d['1t_sgemm'])):.2f}")
