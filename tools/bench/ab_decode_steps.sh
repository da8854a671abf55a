# Step timing (WHITTLE_DECODE_STEPS=2) of one compressed folder ("" for the f32 model), binaries alternating
# round by round: tools/bench/ab_decode_steps.sh ROUNDS FOLDER BIN...
R=$1; F=$2; shift 2
for r in $(seq 1 $R); do for b in "$@"; do
  echo "== round $r $(basename $b) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ -n "$F" ]; then export WHITTLE_DECODE_PROFILE_FOLDER=$F; fi
  WHITTLE_DECODE_STEPS=2 $b decoding 2>&1 | grep -E "generation|step timing" | sed -E 's/read ceiling.*linears alone/linears alone/; s/cache [0-9.]+ ms, //; s/arg-max.*//'
done; done
