# A/B of the pool's chunk size cap on f32 / NF4 decode steps (step-timing mode), rounds alternating.
B=/tmp/whittle-bin/bench-chunk
for r in 1 2 3; do
 for cw in 0 1048576 262144; do
  echo "== round $r chunk_work $cw $FOLDER"
  WHITTLE_DECODE_PROFILE_FOLDER=$FOLDER WHITTLE_POOL_CHUNK_WORK=$cw WHITTLE_DECODE_STEPS=2 $B decoding 2>&1 | grep -E "generation|step timing"
 done
done
