#!/usr/bin/env bash
# tests/slurm/test_slurm.sh: a sharded litelab run on a real Slurm.
#
# Installs Debian's slurm-wlm and munge when missing (apt-get, as root),
# starts munged, slurmctld and slurmd for a one-node cluster on localhost
# (a generated slurm.conf: 2 CPUs, no GPUs, proctrack/linuxproc, no
# cgroups, ports that are free), then with the launchers of
# experiments/slurm/:
#   1. array task 2 alone, killed after its step 1 (the test hook): it fails
#      and leaves its shard's .partial;
#   2. submit.sh: the 4-task array of a small CPU-backend experiment and the
#      merge job (--dependency=afterok); task 2 resumes its .partial;
#   3. waits, checks every job completed, and that the merged trace is valid
#      and equals the unsharded run's (litelab compare --ignore-timings: rows
#      in order, masks, tile maps, checkpoints);
#   4. one_node.sh with 2 processes on the CPU, compared the same way.
# Stops the daemons it started (by their process ids) on every exit and
# removes its work folder when it passed (kept for a look when it failed). If a
# daemon cannot start, it prints why (its log) and fails: it never skips.
# The tasks run on the CPU, so the array script's --gres=gpu:1 is replaced
# by --gres=none. Usage: bash tests/slurm/test_slurm.sh (from any folder).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
t_start=$(date +%s)

fail() {
    echo "test_slurm: FAILED: $*" >&2
    exit 1
}

# --- packages -------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null ||
    ! command -v sbatch >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "slurm-wlm and munge are not installed and this is not root: apt-get install -y slurm-wlm munge"
    echo "test_slurm: installing slurm-wlm and munge"
    apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi
make -C "$root" -s -j2 build/litelab >/dev/null || fail "cannot build litelab"
export LITELAB=$root/build/litelab

# --- a one-node cluster -----------------------------------------------------
work=$(mktemp -d /tmp/litelab-slurm.XXXXXX)
pids=()
stop_daemons() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_daemons EXIT

show_logs() {
    local f
    for f in "$work"/log/*; do
        echo "---- $f (last lines)" >&2
        tail -n 15 "$f" >&2 || true
    done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=()
for p in $(seq 16817 16999); do
    port_free "$p" && ports+=("$p")
    [ ${#ports[@]} = 2 ] && break
done
[ ${#ports[@]} = 2 ] || fail "no two free ports in 16817-16999"

mkdir -p "$work/munge/key" "$work/state" "$work/spool" "$work/log" "$work/run"
chmod 755 "$work/munge"
chmod 700 "$work/munge/key"
head -c 1024 /dev/urandom >"$work/munge/key/munge.key"
chmod 400 "$work/munge/key/munge.key"
socket=$work/munge/munge.socket
# -f: munged refuses root and a world-readable /tmp path otherwise.
munged -F -f --socket="$socket" --key-file="$work/munge/key/munge.key" --log-file="$work/log/munged.log" \
    --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" >"$work/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
if ! munge -S "$socket" -n </dev/null | unmunge -S "$socket" >/dev/null 2>&1; then
    show_logs
    fail "munged did not start (no working socket $socket)"
fi

host=$(hostname -s)
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=litelabci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
MinJobAge=600
NodeName=cinode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=ci Nodes=cinode Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i >"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 100); do
    if scontrol ping 2>/dev/null | grep -q UP; then up=1; break; fi
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
done
[ $up = 1 ] || { show_logs; fail "slurmctld did not start"; }
slurmd -D -N cinode >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
idle=0
for _ in $(seq 150); do
    if [ "$(sinfo -h -n cinode -o %t 2>/dev/null)" = idle ]; then idle=1; break; fi
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
done
[ $idle = 1 ] || { show_logs; sinfo -N -l >&2 || true; fail "slurmd did not register (node cinode not idle)"; }
echo "test_slurm: cluster up (munged, slurmctld :${ports[0]}, slurmd :${ports[1]}) in $(($(date +%s) - t_start)) s"

# --- the experiment -----------------------------------------------------------
cd "$work/run"
cat >exp.json <<'EOF'
{
  "name": "slurm_ci",
  "description": "The Slurm CI test's sweep: 4 policies x 3 layers over a small synthetic trajectory, CPU backend.",
  "trajectory": {"synthetic": "tiny", "seed": 5, "steps": 4, "layers": 3},
  "backend": "cpu",
  "threads": 1,
  "tiling": {"block_m": 32, "block_n": 32},
  "record": {"per_head": true, "masks": {"steps": "all", "layers": "all"},
             "tile_maps": {"steps": [0, 3], "layers": [0, 2]}},
  "policies": [
    {"name": "dense", "kind": "dense"},
    {"name": "lite", "kind": "lite", "threshold": -5},
    {"name": "warm", "kind": "warmup", "threshold": -5, "warmup_steps": 1},
    {"name": "dyn", "kind": "dynamic", "threshold": -5}
  ]
}
EOF
slurm_dir=$root/experiments/slurm

# Waits until the jobs leave the queue; prints each job's final state.
wait_jobs() {
    local deadline=$(($(date +%s) + 600))
    while [ -n "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; do
        [ "$(date +%s)" -lt $deadline ] || fail "jobs $1 still queued after 10 minutes: $(squeue -j "$1")"
        sleep 0.5
    done
}
job_states() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s '\n ' ' '; }
# Whether every job (and array task) of a list completed.
all_completed() {
    local states
    states=$(scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*') || return 1
    [ -n "$states" ] && ! echo "$states" | grep -qv 'JobState=COMPLETED'
}

# 1. Task 2 alone, killed after step 1 (SIGKILL by the test hook).
first=$(LITELAB_TEST_ABORT_AFTER_STEP=1 sbatch --parsable --gres=none --array=2 "$slurm_dir/sweep_array.sbatch" exp.json out.h5 4)
first=${first%%;*}
wait_jobs "$first"
echo "test_slurm: killed task: $(job_states "$first")"
job_states "$first" | grep -q FAILED || fail "task 2 with the kill hook did not fail: $(job_states "$first")"
[ -e out.shard-2-of-4.h5.partial ] || fail "task 2 left no out.shard-2-of-4.h5.partial"

# 2. The array and the merge; task 2 resumes.
submitted=$("$slurm_dir/submit.sh" exp.json out.h5 4 --gres=none)
echo "test_slurm: $submitted"
array=$(echo "$submitted" | sed -n 's/^array job \([0-9]*\).*/\1/p')
merge=$(echo "$submitted" | sed -n 's/.*merge job \([0-9]*\)$/\1/p')
[ -n "$array" ] && [ -n "$merge" ] || fail "submit.sh printed no job ids: $submitted"
wait_jobs "$array,$merge"
echo "test_slurm: array: $(job_states "$array"); merge: $(job_states "$merge")"
if ! all_completed "$array" || ! all_completed "$merge"; then
    cat litelab-*.out >&2 || true
    show_logs
    fail "a job did not complete"
fi
grep -q "resuming" "litelab-shard-${array}_2.out" || fail "task 2 did not resume its .partial: $(cat "litelab-shard-${array}_2.out")"

# 3. The merged trace against the unsharded run.
"$LITELAB" validate out.h5 || fail "the merged trace is not valid"
"$LITELAB" run exp.json -o unsharded.h5 -q || fail "the unsharded run failed"
"$LITELAB" compare --ignore-timings unsharded.h5 out.h5 || fail "the merged trace differs from the unsharded run"

# 4. One process per "GPU" on one machine: 2 processes on the CPU.
"$slurm_dir/one_node.sh" exp.json node.h5 2 || fail "one_node.sh failed"
"$LITELAB" compare --ignore-timings unsharded.h5 node.h5 || fail "one_node.sh's merged trace differs"

stop_daemons
trap - EXIT
rm -rf "$work"
echo "test_slurm: OK in $(($(date +%s) - t_start)) s"
