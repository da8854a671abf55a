#!/usr/bin/env python3
"""Where the caller's time goes in a decode (issue 20, session 11).

usage: perf script -i perf.data -F tid,time,ip,sym | perf_split.py START_AFTER_SYMBOL
Takes the main thread (the most frequent tid), keeps its samples after the last sample in
START_AFTER_SYMBOL (e.g. read512: the bench's read ceiling, measured before the decodes), and prints the
share of each symbol and of coarse groups. cpu-clock samples of a thread that never sleeps (the caller
spins on the pool) are its wall time while it runs.
"""
import sys, collections
rows = []
for line in sys.stdin:
    p = line.split(None, 3)
    if len(p) < 3: continue
    tid, t = p[0], float(p[1].rstrip(':'))
    sym = p[3].strip() if len(p) > 3 else '?'
    rows.append((tid, t, sym))
main = collections.Counter(r[0] for r in rows).most_common(1)[0][0]
marker = sys.argv[1] if len(sys.argv) > 1 else 'read512'
last = max((t for tid, t, s in rows if marker in s), default=0)
# skip past the linears-alone timing too: start at the first greedyGenerate-related sample after marker
ms = [(t, s) for tid, t, s in rows if tid == main and t > last]
helper = collections.Counter(r[0] for r in rows if r[0] != main and r[1] > last).most_common(1)
print(f"main thread {main}: {len(ms)} samples after the last {marker} sample ({ms[-1][0]-ms[0][0]:.2f} s span)")
if helper: print(f"busiest other thread {helper[0][0]}: {helper[0][1]} samples in the same window")
c = collections.Counter(s for t, s in ms)
groups = collections.Counter()
def group(s):
    if 'gemv' in s: return 'gemv kernel'
    if 'csimd_pool_split_rows' in s or s == 'outs_rows': return 'pool: wait for helper / hand-off'
    if 'sgemm' in s or 'blas' in s.lower() or 'COOPERLAKE' in s or 'SKYLAKEX' in s or 'HASWELL' in s: return 'OpenBLAS (attention, prefill)'
    if 'malloc' in s or 'free' in s or 'swift_' in s or 'Storage' in s or 'memmove' in s or 'memcpy' in s or 'memset' in s: return 'allocation, refcount, copies'
    if s.startswith('$s') or s.startswith('$S'): return 'Swift code (norms, rotary, softmax, glue)'
    return 'other (kernel, libc)'
for t, s in ms: groups[group(s)] += 1
n = len(ms)
for g, k in groups.most_common(): print(f"  {100*k/n:5.1f} %  {g}")
print("top symbols:")
for s, k in c.most_common(40): print(f"  {100*k/n:5.2f} %  {s[:150]}")
