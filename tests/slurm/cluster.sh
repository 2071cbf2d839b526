#!/usr/bin/env bash
# A real Slurm cluster on 127.0.0.1 whose nodes are simulated MIG machines, for migctl's tests and benchmarks.
# Everything lives in one directory; every daemon runs in the foreground as a child of this script's caller's
# session, is recorded by PID in DIR/run and stopped by that PID. Needs root (slurmd launches jobs as their
# users) and Debian's slurmctld, slurmd, slurm-client and munge (./dev.sh installs them).
#
#   cluster.sh start DIR          DIR/nodes/<name>/sim.json must exist, one per node (made with `migctl sim
#                                 init` and partitioned as the test wants); writes DIR/etc/{slurm,gres,cgroup}.conf
#                                 from `migctl slurm gres` of each node, starts munged, slurmctld and one slurmd a
#                                 node, and waits until every node is idle. Prints `export SLURM_CONF=...`.
#   cluster.sh stop DIR           stops what start started (slurmds, slurmctld, munged), by PID
#   cluster.sh restart-ctld DIR   restarts slurmctld (what a GRES count change needs in Slurm 22.05)
#   cluster.sh restart-slurmd DIR NODE
#
# Settings: MIGCTL (the migctl binary; default: migctl on PATH), PORT_BASE (default: a free one), CPUS (per
# node, default 16; more than the host has, so GRES jobs do not wait for cores), AUTH=munge|none.
# Each node's jobs see MIGCTL_SIM=DIR/nodes/<name>/sim.json (a TaskProlog exports it), so `migctl exec` in a job
# observes that node's simulated GPUs; its device files are stand-ins under DIR/nodes/<name>/root.
set -euo pipefail

MODE=${1:-}
D=${2:-}
MIGCTL=${MIGCTL:-migctl}
CPUS=${CPUS:-16}
AUTH=${AUTH:-munge}

die() { echo "cluster.sh: $*" >&2; exit 1; }
[ -n "$MODE" ] && [ -n "$D" ] || die "usage: cluster.sh start|stop|restart-ctld|restart-slurmd DIR [NODE]"
D=$(cd "$D" && pwd)
export SLURM_CONF=$D/etc/slurm.conf

stop_pid() {  # $1 = pid file: TERM, then KILL after 10 s
  local f=$1 p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

nodes() { ls "$D/nodes"; }

start_ctld() {
  setsid slurmctld -D -f "$SLURM_CONF" >>"$D/log/slurmctld.out" 2>&1 < /dev/null &
  echo $! > "$D/run/slurmctld.pid"
}
start_slurmd() {
  mkdir -p "$D/spool/$1"
  setsid slurmd -D -f "$SLURM_CONF" -N "$1" >>"$D/log/slurmd-$1.out" 2>&1 < /dev/null &
  echo $! > "$D/run/slurmd-$1.pid"
}
# Until every node is idle (or mixed/allocated: it takes jobs), at most $1 seconds.
wait_ready() {
  local want n
  want=$(nodes | wc -l)
  for _ in $(seq 1 $(( $1 * 10 ))); do
    n=$(timeout 2 sinfo -h -N -o '%N %T' 2>/dev/null | awk '$2 ~ /^(idle|mixed|allocated)$/' | wc -l || true)
    [ "$n" = "$want" ] && return 0
    sleep 0.1
  done
  timeout 2 sinfo -N -o '%N %T %E' >&2 || true
  return 1
}

write_conf() {
  local host n gres auth
  host=$(hostname -s)
  if [ "$AUTH" = munge ]; then
    auth="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/run/munge.sock"
  else
    auth="AuthType=auth/none
CredType=cred/none"
  fi
  : > "$D/etc/gres.conf"
  {
    cat <<CONF
ClusterName=migctl$PORT_BASE
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT_BASE
SlurmUser=root
SlurmdUser=root
$auth
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/run/slurmctld.daemon.pid
SlurmdPidFile=$D/run/slurmd-%n.daemon.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
SchedulerParameters=defer_batch,sched_min_interval=0,batch_sched_delay=0
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
SlurmdTimeout=30
MinJobAge=2
MaxArraySize=4001
MaxJobCount=100000
TaskProlog=$D/etc/taskprolog.sh
GresTypes=gpu
CONF
    local k=0
    for n in $(nodes); do
      k=$((k + 1))
      "$MIGCTL" --sim "$D/nodes/$n/sim.json" sim devices "$D/nodes/$n/root" >/dev/null
      "$MIGCTL" --sim "$D/nodes/$n/sim.json" slurm gres --node "$n" --root "$D/nodes/$n/root" --print conf \
        >> "$D/etc/gres.conf"
      gres=$("$MIGCTL" --sim "$D/nodes/$n/sim.json" slurm gres --node "$n" --root "$D/nodes/$n/root" --print gres)
      echo "NodeName=$n NodeHostname=$host NodeAddr=127.0.0.1 Port=$((PORT_BASE + k)) CPUs=$CPUS RealMemory=4000 Gres=$gres State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=$(nodes | paste -sd,) Default=YES MaxTime=INFINITE State=UP"
  } > "$D/etc/slurm.conf"
  printf 'CgroupPlugin=autodetect\nIgnoreSystemd=yes\n' > "$D/etc/cgroup.conf"
  cat > "$D/etc/taskprolog.sh" <<PROLOG
#!/bin/sh
# Each node's jobs observe that node's simulated machine.
echo "export MIGCTL_SIM=$D/nodes/\$SLURMD_NODENAME/sim.json"
PROLOG
  chmod 755 "$D/etc/taskprolog.sh"
}

case "$MODE" in
  start)
    [ "$(id -u)" = 0 ] || die "run as root (slurmd launches jobs as their users)"
    [ -d "$D/nodes" ] && [ -n "$(nodes)" ] || die "no nodes: make $D/nodes/<name>/sim.json first"
    for n in $(nodes); do [ -f "$D/nodes/$n/sim.json" ] || die "$D/nodes/$n has no sim.json"; done
    mkdir -p "$D"/{etc,state,spool,log,run,munge}
    chmod 755 "$D" "$D/run"
    chmod 700 "$D/munge"
    port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
    if [ -z "${PORT_BASE:-}" ]; then
      for _ in $(seq 1 50); do
        PORT_BASE=$(( 20000 + (RANDOM % 2500) * 16 ))
        ok=1
        for i in $(seq 0 "$(nodes | wc -l)"); do port_free $((PORT_BASE + i)) || ok=0; done
        [ "$ok" = 1 ] && break
      done
    fi
    echo "$PORT_BASE" > "$D/run/port_base"
    if [ "$AUTH" = munge ]; then
      mungekey --create --keyfile="$D/munge/munge.key" 2>/dev/null || mungekey -c -k "$D/munge/munge.key"
      setsid munged -F --socket="$D/run/munge.sock" --key-file="$D/munge/munge.key" --pid-file="$D/run/munged.daemon.pid" \
        --seed-file="$D/munge/seed" --log-file="$D/log/munged.log" >"$D/log/munged.out" 2>&1 < /dev/null &
      echo $! > "$D/run/munged.pid"
      for _ in $(seq 1 100); do [ -S "$D/run/munge.sock" ] && break; sleep 0.05; done
      [ -S "$D/run/munge.sock" ] || die "munged did not start; see $D/log/munged.log"
    fi
    write_conf
    start_ctld
    for n in $(nodes); do start_slurmd "$n"; done
    wait_ready 30 || { "$0" stop "$D"; die "nodes not ready in 30 s; logs in $D/log"; }
    echo "export SLURM_CONF=$SLURM_CONF"
    ;;
  stop)
    for f in "$D"/run/slurmd-*.pid; do [[ $f == *.daemon.pid ]] || stop_pid "$f"; done
    stop_pid "$D/run/slurmctld.pid"
    stop_pid "$D/run/munged.pid"
    ;;
  restart-ctld)
    stop_pid "$D/run/slurmctld.pid"
    start_ctld
    ;;
  restart-slurmd)
    [ -n "${3:-}" ] && [ -d "$D/nodes/$3" ] || die "restart-slurmd DIR NODE: no node ${3:-}"
    stop_pid "$D/run/slurmd-$3.pid"
    start_slurmd "$3"
    ;;
  *) die "unknown mode $MODE" ;;
esac
