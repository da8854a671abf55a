#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (Debian's slurmctld + slurmd + munge, no
# systemd), so deploy/slurm/submit.sh and the Slurm end-to-end test run here and in CI.
# Needs root and the packages: apt-get install --no-install-recommends slurmctld slurmd slurm-client munge
# Idempotent: a running cluster is left as it is. Stop it with deploy/slurm/stop-local-cluster.sh.
set -euo pipefail
for tool in slurmctld slurmd munged sinfo; do
  command -v "$tool" >/dev/null || { echo "start-local-cluster: $tool not found (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "start-local-cluster: run as root" >&2; exit 1; }

if pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null && sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|allocated'; then
  echo "slurm: already running"; exit 0
fi

host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))

# munge: one key, its daemon as the munge user.
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force; else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge; chmod 0755 /run/munge; chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done

# slurm.conf: this host is controller and the one compute node; no cgroup confinement, no accounting
# (no cgroup.conf: Slurm 22.05 picks the cgroup plugin itself; "disabled" exists only from 23.x).
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=whittle
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
NodeName=${host} CPUs=${cpus} RealMemory=${memory_mb} State=UNKNOWN
PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 100); do
  if sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|allocated'; then echo "slurm: running (node ${host}, ${cpus} CPUs)"; exit 0; fi
  sleep 0.2
done
echo "start-local-cluster: slurm did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
sinfo >&2 || true
exit 1
