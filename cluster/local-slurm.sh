#!/usr/bin/env bash
# A real one-node SLURM on this machine, for development and CI: `up`, `down`, `status`, `env`.
#
#   sudo cluster/local-slurm.sh up        # installs slurm-wlm and munge when missing, starts
#                                         # munged, slurmctld and slurmd, waits for an idle node
#   eval "$(cluster/local-slurm.sh env)"  # SLURM_CONF for sinfo, sbatch, squeue, scancel ...
#   sudo cluster/local-slurm.sh down      # stops exactly the daemons `up` started
#
# Everything lives in one state folder (VECTILE_SLURM_DIR, default /tmp/vectile-slurm): the
# slurm.conf written for this machine (its real core count and memory, from `slurmd -C`),
# its own munge key and socket, the daemons' pid files, logs and spool. Nothing under /etc is
# written, except that /etc/slurm/slurm.conf is linked to the state folder's when no
# slurm.conf is there (so the SLURM commands work without SLURM_CONF); `down` removes the
# link again. Containers have no systemd and often no writable cgroups: processes are
# tracked through /proc (proctrack/linuxproc), tasks are not confined (task/none). Needs root
# (the daemons run as root, and jobs run as the user who submits them).
#
# Ports: VECTILE_SLURM_CTLD_PORT (default 6817) and VECTILE_SLURM_D_PORT (default 6818).
set -euo pipefail

STATE=${VECTILE_SLURM_DIR:-/tmp/vectile-slurm}
CTLD_PORT=${VECTILE_SLURM_CTLD_PORT:-6817}
D_PORT=${VECTILE_SLURM_D_PORT:-6818}
CONF=${STATE}/slurm.conf
SOCKET=${STATE}/munge/munge.socket
ETC_CONF=/etc/slurm/slurm.conf
WAIT=${VECTILE_SLURM_WAIT:-60}   # seconds to wait for the node to be idle

log() { printf 'local-slurm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sinfo >/dev/null \
        || missing+=(slurm-wlm)
    command -v munged >/dev/null || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "${missing[*]} missing; run as root to install them (apt-get)"
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# pid of a daemon `up` started, if it still runs (the pid file names it; the command line
# must still be that daemon's, so a reused pid is never taken for it).
running_pid() {
    local name=$1 file=${STATE}/$1.pid pid
    [ -s "${file}" ] || return 1
    pid=$(cat "${file}")
    [ -r "/proc/${pid}/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q "${name}" || return 1
    echo "${pid}"
}

write_conf() {
    local node cpus sockets cores threads memory
    # slurmd -C reports what slurmd itself will detect; a node configured with more than
    # that is drained, so these are the numbers to use.
    read -r node cpus sockets cores threads memory < <(slurmd -C | awk '
        /^NodeName=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                       print v["NodeName"], v["CPUs"], v["SocketsPerBoard"], v["CoresPerSocket"],
                             v["ThreadsPerCore"], v["RealMemory"] }')
    [ -n "${memory:-}" ] || die "slurmd -C gave no node description"
    cat >"${CONF}" <<EOF
# Written by cluster/local-slurm.sh for this machine ($(date -u +%FT%TZ)): one node, one partition.
ClusterName=vectile
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${CTLD_PORT}
SlurmdPort=${D_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${SOCKET}
StateSaveLocation=${STATE}/ctld
SlurmdSpoolDir=${STATE}/spool
SlurmctldPidFile=${STATE}/slurmctld.pid
SlurmdPidFile=${STATE}/slurmd.pid
SlurmctldLogFile=${STATE}/log/slurmctld.log
SlurmdLogFile=${STATE}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
# Cores are allocated; memory is checked against the node's but not reserved (a job without
# --mem would otherwise take all of it and block the others).
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
# Short timeouts: a killed or cancelled job's processes go quickly, tests wait less.
KillWait=5
MinJobAge=60
SlurmdTimeout=30
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} Sockets=${sockets} CoresPerSocket=${cores} ThreadsPerCore=${threads} RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
EOF
}

node_state() { SLURM_CONF=${CONF} sinfo --noheader --format=%T 2>/dev/null | head -n 1; }

up() {
    [ "$(id -u)" -eq 0 ] || die "run as root: the daemons run as root and jobs run as their user"
    install_packages
    if running_pid slurmctld >/dev/null || running_pid slurmd >/dev/null || running_pid munged >/dev/null; then
        die "already up (state in ${STATE}); run '$0 down' first"
    fi
    mkdir -p "${STATE}"/{munge,ctld,spool,log}
    chmod 0700 "${STATE}" "${STATE}/munge"
    [ -s "${STATE}/munge/munge.key" ] || dd if=/dev/urandom of="${STATE}/munge/munge.key" bs=1 count=1024 status=none
    chmod 0400 "${STATE}/munge/munge.key"
    write_conf
    # Its own munged on its own socket and key: a munged of the system, if any, is left alone.
    munged --force --socket="${SOCKET}" --key-file="${STATE}/munge/munge.key" \
        --pid-file="${STATE}/munged.pid" --log-file="${STATE}/log/munged.log" \
        --seed-file="${STATE}/munge/munged.seed"
    if [ ! -e "${ETC_CONF}" ] && [ ! -L "${ETC_CONF}" ]; then
        mkdir -p "$(dirname "${ETC_CONF}")"
        ln -s "${CONF}" "${ETC_CONF}"
        echo "${ETC_CONF}" >"${STATE}/linked"
    fi
    slurmctld -f "${CONF}"
    slurmd -f "${CONF}"
    local waited=0 state=""
    while [ "${waited}" -lt "${WAIT}" ]; do
        state=$(node_state)
        [ "${state}" = idle ] && break
        sleep 1
        waited=$((waited + 1))
    done
    if [ "${state}" != idle ]; then
        log "node not idle after ${WAIT} s (state: '${state:-none}'); logs in ${STATE}/log"
        tail -n 5 "${STATE}"/log/*.log >&2 || true
        down
        exit 1
    fi
    log "up: $(SLURM_CONF=${CONF} sinfo --noheader --format='node %N, %c CPUs, %m MB, partition %P, %T') (state in ${STATE})"
}

stop_daemon() {
    local name=$1 pid i
    pid=$(running_pid "${name}") || { rm -f "${STATE}/${name}.pid"; return 0; }
    kill "${pid}" 2>/dev/null || true
    for i in $(seq 1 100); do
        [ -d "/proc/${pid}" ] || break
        sleep 0.1
    done
    if [ -d "/proc/${pid}" ]; then
        log "${name} (pid ${pid}) did not stop; killing it"
        kill -9 "${pid}" 2>/dev/null || true
    fi
    rm -f "${STATE}/${name}.pid"
}

down() {
    # Jobs first, while slurmctld can still end them: their processes (slurmstepd and what it
    # runs) then go with them, and slurmd leaves none behind.
    if running_pid slurmctld >/dev/null; then
        SLURM_CONF=${CONF} scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
        local i
        for i in $(seq 1 30); do
            [ -z "$(SLURM_CONF=${CONF} squeue --noheader --format=%i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
    if [ -s "${STATE}/linked" ]; then
        [ -L "${ETC_CONF}" ] && [ "$(readlink "${ETC_CONF}")" = "${CONF}" ] && rm -f "${ETC_CONF}"
        rm -f "${STATE}/linked"
    fi
    log "down"
}

status() {
    local name pid any=0
    for name in munged slurmctld slurmd; do
        if pid=$(running_pid "${name}"); then
            echo "${name}: running (pid ${pid})"
            any=1
        else
            echo "${name}: stopped"
        fi
    done
    [ "${any}" -eq 1 ] || return 3
    SLURM_CONF=${CONF} sinfo || return 3
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    env) echo "export SLURM_CONF=${CONF}" ;;
    *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
