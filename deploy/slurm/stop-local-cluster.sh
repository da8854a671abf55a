#!/usr/bin/env bash
# Stops what start-local-cluster.sh started (by pid file).
set -u
for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid; do
  [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null && echo "stopped $(basename "$f" .pid)"
done
exit 0
