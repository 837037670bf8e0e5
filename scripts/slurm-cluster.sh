#!/usr/bin/env bash
# slurm-cluster.sh - a real single-node Slurm cluster on localhost, with no systemd: what CI starts for
# GangaJupyter's Slurm tests and benchmark (docs/slurm.rst).
#
# Tested on Debian 12 (bookworm), Slurm 22.05.8, munge 0.5.15, MariaDB 10.11, run as root
# in a container/VM where PID 1 is not systemd. It should also work on Ubuntu
# (Slurm 21.08/23.11); only Debian 12 was tested.
#
# Usage (as root):
#   slurm-cluster.sh [start]   install if needed, write config, start daemons, wait for node idle
#   slurm-cluster.sh stop      stop the daemons this script started (kill PID from each pidfile)
#   slurm-cluster.sh status    show daemon PIDs and sinfo
#
# Environment knobs:
#   SLURM_CLUSTER_ACCOUNTING=1   (default) also install+start MariaDB and slurmdbd, so that `sacct` works and
#                                GangaJupyter shows statistics from accounting; 0: accounting_storage/none
#                                (sacct then says "Slurm accounting storage is disabled")
#   SLURM_CLUSTER_DIR=/var/tmp/slurm   state, spool, pid and log files
#   SLURM_CLUSTER_CLUSTER=localcluster
#   SLURM_CLUSTER_CPUS, SLURM_CLUSTER_MEM_MB   override what `slurmd -C` detects
#   SLURM_CLUSTER_TIMEOUT=60     seconds to wait for each daemon / the node
#
# It is idempotent: running `start` again does nothing when everything is already up;
# when a generated config file changed, the affected daemons are restarted.
set -euo pipefail

ACTION=${1:-start}
ACCOUNTING=${SLURM_CLUSTER_ACCOUNTING:-1}
BASE=${SLURM_CLUSTER_DIR:-/var/tmp/slurm}
CLUSTER=${SLURM_CLUSTER_CLUSTER:-localcluster}
TIMEOUT=${SLURM_CLUSTER_TIMEOUT:-60}
NODE=localhost            # NodeName; slurmd is started with -N localhost, so the real hostname does not matter
PARTITION=debug
DBPASS=slurmdbpass        # local-only MariaDB password of the 'slurm' DB user

ETC=/etc/slurm
CONF=$ETC/slurm.conf
DBDCONF=$ETC/slurmdbd.conf
MUNGE_PID=/run/munge/munged.pid
MYSQL_PID=/run/mysqld/mysqld.pid
CTLD_PID=$BASE/slurmctld.pid
SLURMD_PID=$BASE/slurmd.pid
DBD_PID=$BASE/slurmdbd.pid
LOG=$BASE/log

log() { echo "[slurm-cluster] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# alive PID : true while PID exists and is not a zombie (PID 1 may not reap promptly in containers)
alive() {
    local st
    st=$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# pid_of NAME PIDFILE -> prints the PID if the pidfile names a live process called NAME
pid_of() {
    local p
    p=$(cat "$2" 2>/dev/null) || return 1
    [ -n "$p" ] && alive "$p" && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$1" ] && echo "$p"
}

# stop_pid NAME PIDFILE : kill the process by PID and wait up to 30 s for it to go
stop_pid() {
    local p i
    p=$(pid_of "$1" "$2") || { rm -f "$2"; return 0; }
    log "stopping $1 (pid $p)"
    kill "$p" 2>/dev/null || true
    for i in $(seq 150); do alive "$p" || break; sleep 0.2; done
    alive "$p" && { log "$1 (pid $p) did not stop after SIGTERM; sending SIGKILL"; kill -9 "$p" || true; }
    rm -f "$2"
}

# wait_for DESCRIPTION COMMAND... : retry COMMAND every 0.2 s for up to $TIMEOUT s
wait_for() {
    local what=$1 i; shift
    for i in $(seq $((TIMEOUT * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    log "timed out waiting for $what"
    tail -n 30 "$LOG"/*.log /var/log/munge/munged.log 2>/dev/null >&2 || true
    return 1
}

CHANGED_SLURM=0
CHANGED_DBD=0
# put_file DEST MODE VAR : write stdin to DEST if its content differs; set VAR=1 then
put_file() {
    local dst=$1 mode=$2 flag=$3 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if ! cmp -s "$tmp" "$dst"; then
        install -m "$mode" "$tmp" "$dst"
        printf -v "$flag" 1
        log "wrote $dst"
    fi
    rm -f "$tmp"
}

do_install() {
    local pkgs="slurmctld slurmd slurm-client munge"
    [ "$ACCOUNTING" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
    local missing="" p
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    log "apt-get install$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $missing >"$LOG/apt.log" 2>&1; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update -q >>"$LOG/apt.log" 2>&1
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing >>"$LOG/apt.log" 2>&1 \
            || { tail -n 30 "$LOG/apt.log" >&2; die "apt-get install failed"; }
    fi
}

write_config() {
    local hw cpus sockets cores threads mem
    hw=$(slurmd -C 2>/dev/null | head -n1)
    field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
    cpus=$(field CPUs); sockets=$(field SocketsPerBoard); cores=$(field CoresPerSocket)
    threads=$(field ThreadsPerCore); mem=$(field RealMemory)
    [ -n "$cpus" ] || cpus=$(nproc)
    [ -n "$mem" ] || mem=$(free -m | awk '/^Mem:/{print $2}')
    local topo="Sockets=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1}"
    if [ -n "${SLURM_CLUSTER_CPUS:-}" ]; then cpus=$SLURM_CLUSTER_CPUS; topo=""; fi
    # RealMemory must not exceed what slurmd detects, otherwise the node is drained ("Low RealMemory")
    mem=${SLURM_CLUSTER_MEM_MB:-$((mem * 9 / 10))}
    [ "$mem" -ge 1 ] || mem=1

    local acct="AccountingStorageType=accounting_storage/none"
    if [ "$ACCOUNTING" = 1 ]; then
        acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819"
    fi

    mkdir -p "$ETC"
    put_file "$CONF" 644 CHANGED_SLURM <<EOF
# generated by slurm-cluster.sh - single node on localhost, no cgroups, no systemd
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
$acct
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmdSpoolDir=$BASE/spool/slurmd
StateSaveLocation=$BASE/state
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

    if [ "$ACCOUNTING" = 1 ]; then
        put_file "$DBDCONF" 600 CHANGED_DBD <<EOF
# generated by slurm-cluster.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
LogFile=$LOG/slurmdbd.log
PidFile=$DBD_PID
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DBPASS
EOF
    fi
}

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
        else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
    chmod 0700 /etc/munge /var/log/munge; chmod 0400 /etc/munge/munge.key; chmod 0755 /run/munge
    if ! pid_of munged "$MUNGE_PID" >/dev/null; then
        log "starting munged"
        runuser -u munge -- /usr/sbin/munged
    fi
    wait_for "munge" sh -c 'munge -n | unmunge'
}

start_mariadb() {
    mkdir -p /run/mysqld && chown mysql:root /run/mysqld
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >"$LOG/mariadb-install.log" 2>&1
    if ! pid_of mariadbd "$MYSQL_PID" >/dev/null; then
        log "starting mariadbd"
        setsid /usr/sbin/mariadbd --user=mysql --pid-file="$MYSQL_PID" \
            --socket=/run/mysqld/mysqld.sock --bind-address=127.0.0.1 \
            </dev/null >"$LOG/mariadb.log" 2>&1 &
    fi
    wait_for "mariadb" mariadb-admin ping
    mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
}

start_slurmdbd() {
    [ "$CHANGED_DBD" = 1 ] && stop_pid slurmdbd "$DBD_PID"
    if ! pid_of slurmdbd "$DBD_PID" >/dev/null; then
        log "starting slurmdbd"
        (cd "$BASE" && /usr/sbin/slurmdbd)
    fi
    wait_for "slurmdbd" sacctmgr -n list cluster
    if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
}

node_ready() {
    local st
    st=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n1)
    case "$st" in
        idle|mixed|allocated|completing) return 0 ;;
        drain*|down*|fail*)
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true; return 1 ;;
        *) return 1 ;;
    esac
}

do_start() {
    mkdir -p "$BASE"/{spool/slurmd,state} "$LOG"
    do_install
    write_config
    if [ "$CHANGED_SLURM" = 1 ]; then
        stop_pid slurmd "$SLURMD_PID"
        stop_pid slurmctld "$CTLD_PID"
    fi
    start_munge
    if [ "$ACCOUNTING" = 1 ]; then
        start_mariadb
        start_slurmdbd
    fi
    if ! pid_of slurmctld "$CTLD_PID" >/dev/null; then
        log "starting slurmctld"
        (cd "$BASE" && /usr/sbin/slurmctld)
    fi
    wait_for "slurmctld" scontrol ping
    if ! pid_of slurmd "$SLURMD_PID" >/dev/null; then
        log "starting slurmd"
        (cd "$BASE" && /usr/sbin/slurmd -N "$NODE")
    fi
    wait_for "node $NODE to become idle" node_ready
    sinfo
}

do_stop() {
    stop_pid slurmd "$SLURMD_PID"
    stop_pid slurmctld "$CTLD_PID"
    stop_pid slurmdbd "$DBD_PID"
    stop_pid mariadbd "$MYSQL_PID"
    stop_pid munged "$MUNGE_PID"
}

do_status() {
    local n f
    for n in munged:$MUNGE_PID mariadbd:$MYSQL_PID slurmdbd:$DBD_PID slurmctld:$CTLD_PID slurmd:$SLURMD_PID; do
        f=${n#*:}; n=${n%%:*}
        echo "$n: $(pid_of "$n" "$f" || echo 'not running')"
    done
    sinfo 2>/dev/null || true
}

case "$ACTION" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    restart) do_stop; do_start ;;
    *) die "usage: $0 [start|stop|status|restart]" ;;
esac
