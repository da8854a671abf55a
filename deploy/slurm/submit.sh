#!/usr/bin/env bash
# Submits a recipe as an N-task array job plus a merge job that runs after all tasks succeeded.
#   deploy/slurm/submit.sh RECIPE OUTPUT N [sbatch options...]
# Prints the two job ids ("ARRAY_ID MERGE_ID"). COMPRESS (path of the binary) and COMPRESS_ARGS pass through.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 RECIPE OUTPUT N [sbatch options...]" >&2; exit 2; }
recipe=$(realpath "$1"); output=$(realpath -m "$2"); n=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
export RECIPE="$recipe" OUTPUT="$output" SHARDS="$n"
array=$(sbatch --parsable --array="0-$((n - 1))" --export=ALL "$@" "$here/shards.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --export=ALL "$@" "$here/merge.sbatch")
echo "$array ${merge%%;*}"
