#!/bin/bash
# Session 11 (prefill3): whole processes alternating, three builds of this tree copied to /tmp (before:
# -DF32_PACK=0 -DF32_MANY_UNIT=16 as defaults; pack: F32_PACK 1, UNIT 16; after: the defaults).
cd "$(dirname "$0")/../.." || exit 1
S=tools/bench/prefill_ab_processes.sh
B=/tmp/prefill3-wb-before; P=/tmp/prefill3-wb-pack; A=/tmp/prefill3-wb-after
D=docs/results/prefill-session11
echo "# A = before (session 10 packing and split), B = after; $(date -u)"; 
run() { echo "## $1 ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"; shift; "$@"; }
run "smollm2 threads=1 before/after" $S 4 "models=smollm2 pairs=3 modes=last threads=1" $B "X=1" $A "X=1" > $D/prefill-smollm2-t1.log 2>&1
run "smollm2 threads=2 before/after" $S 4 "models=smollm2 pairs=3 modes=last threads=2" $B "X=1" $A "X=1" > $D/prefill-smollm2-t2.log 2>&1
run "smollm2 threads=2 pack-only/after (the split)" $S 4 "models=smollm2 pairs=3 modes=last threads=2" $P "X=1" $A "X=1" > $D/prefill-smollm2-t2-split.log 2>&1
run "0.84b threads=2 before/after" $S 3 "models=0.84b pairs=2 modes=last threads=2" $B "X=1" $A "X=1" > $D/prefill-084b-t2.log 2>&1
run "0.84b threads=1 before/after" $S 3 "models=0.84b pairs=2 modes=last threads=1" $B "X=1" $A "X=1" > $D/prefill-084b-t1.log 2>&1
echo done $(date -u)
