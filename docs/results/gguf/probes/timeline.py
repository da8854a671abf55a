import sys, subprocess, collections, re
data = sys.argv[1]; bucket = float(sys.argv[2]) if len(sys.argv) > 2 else 0.01
out = subprocess.run(["perf", "script", "-i", data, "-F", "tid,time,ip,sym"], capture_output=True, text=True).stdout
samples = []
for block in out.split("\n\n"):
    lines = [l for l in block.strip().split("\n") if l.strip()]
    if not lines: continue
    m = re.match(r"\s*(\d+)\s+([\d.]+):", lines[0])
    if not m: continue
    tid, t = int(m.group(1)), float(m.group(2))
    syms = [l.split(None, 1)[1] if len(l.split(None, 1)) > 1 else "" for l in lines[1:]]
    stack = " ".join(syms)
    cat = "other"
    for key, name in [("GGUFTokenizerMetadata", "tok"), ("StrictJSON", "tok"), ("headerBytes", "hdr"), ("GGUFHeldHeader", "held"),
                      ("q4_0", "q4"), ("q8_0", "q8"), ("madvise", "madv"), ("sched_yield", "yield"), ("OutputFile", "out"),
                      ("asm_exc_page_fault", "fault"), ("_dl_", "ld"), ("writeData", "wd"), ("GGUFExport", "exp"), ("openTensorStore", "open")]:
        if key in stack: cat = name; break
    samples.append((t, tid, cat))
t0 = min(s[0] for s in samples)
tids = sorted(set(s[1] for s in samples), key=lambda x: min(s[0] for s in samples if s[1] == x))
b = collections.defaultdict(collections.Counter)
for t, tid, cat in samples:
    b[int((t - t0) / bucket)][(tid, cat)] += 1
print("tids", tids)
for k in sorted(b):
    row = []
    for tid in tids:
        c = collections.Counter({cat: n for (tt, cat), n in b[k].items() if tt == tid})
        row.append(",".join(f"{cat}{n}" for cat, n in c.most_common(3)) or "-")
    print(f"{k*bucket*1000:6.0f} ms  " + " | ".join(f"{r:22s}" for r in row))
