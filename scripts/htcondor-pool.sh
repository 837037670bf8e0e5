#!/usr/bin/env bash
# A real single-machine HTCondor pool for GangaJupyter's tests, benchmarks and demos (run as root).
#
#   scripts/htcondor-pool.sh start    build (first time, ~1 min) and start the pool; wait for an idle slot
#   scripts/htcondor-pool.sh stop     stop the daemons, unmount what start mounted
#   scripts/htcondor-pool.sh status   daemons and slots
#   scripts/htcondor-pool.sh env      print the line to export on the host (CONDOR_CONFIG=...)
#   scripts/htcondor-pool.sh restart-schedd   restart the schedd (a fault for tests: back after ~10 s)
#
# HTCondor 23.9 LTS from Debian trixie's `minicondor`, in a debootstrap root filesystem under chroot (so it works
# on older hosts), listening on 127.0.0.1:9618 with IDTOKENS authentication. Host-side code talks to it with the
# `htcondor2` bindings from PyPI, given CONDOR_CONFIG=<root>/host/condor_config. Jobs run as the user `submitter`
# inside the root filesystem, whose python3 has nbclient and ipykernel for NotebookApp payloads.
#
# Environment:
#   GANGAJUPYTER_CONDOR_ROOT    where everything lives (default /var/tmp/gangajupyter-condor)
#   GANGAJUPYTER_CONDOR_MIRROR  Debian mirror for debootstrap (default: debootstrap's own)
#   GANGAJUPYTER_CONDOR_CPUS    execute slots (default 8: payloads in tests are tiny)
#
# <root>/shared is bind-mounted into the pool at the same path: a gangadir under it is a shared filesystem
# between the host and the workers (for the backend's shared-filesystem mode and Ganga's own `Condor`).
set -euo pipefail

ROOT=${GANGAJUPYTER_CONDOR_ROOT:-/var/tmp/gangajupyter-condor}
ROOTFS=$ROOT/rootfs
HOST=$ROOT/host
SHARED=$ROOT/shared
CPUS=${GANGAJUPYTER_CONDOR_CPUS:-8}
PACKAGES="minicondor python3 python3-nbclient python3-ipykernel"

log() { echo "htcondor-pool: $*" >&2; }
die() { log "error: $*"; exit 1; }
in_pool() { chroot "$ROOTFS" env -u CONDOR_CONFIG "$@"; }  # the host-side CONDOR_CONFIG means nothing inside

master_pid() {
    # The condor_master whose root directory is our root filesystem (another pool on the machine is not ours).
    local pid
    for pid in $(pgrep -x condor_master || true); do
        [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$(readlink -f "$ROOTFS")" ] && { echo "$pid"; return 0; }
    done
    return 1
}

build_rootfs() {
    [ -e "$ROOTFS/.gangajupyter-ready" ] && return 0
    command -v debootstrap > /dev/null || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap > /dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap > /dev/null; }
    }
    log "debootstrap trixie (minbase) into $ROOTFS"
    # --include=minicondor makes debootstrap's resolver fail on virtual packages: install inside the chroot instead.
    debootstrap --variant=minbase trixie "$ROOTFS" ${GANGAJUPYTER_CONDOR_MIRROR:-} > "$ROOT/debootstrap.log" 2>&1 \
        || die "debootstrap failed, see $ROOT/debootstrap.log"
    mount_proc
    log "installing $PACKAGES in the pool"
    in_pool sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES" \
        > "$ROOT/apt.log" 2>&1 || die "apt-get install in the pool failed, see $ROOT/apt.log"
    in_pool apt-get clean
    in_pool id submitter > /dev/null 2>&1 || in_pool useradd -m -u 1000 submitter
    touch "$ROOTFS/.gangajupyter-ready"
}

write_pool_config() {
    cat > "$ROOTFS/etc/condor/config.d/99-gangajupyter" <<EOF
# Written by GangaJupyter's scripts/htcondor-pool.sh.
# The starter cannot unshare a mount namespace in containers like CI's: without these two every job is held
# with "errno=22 Invalid argument".
MOUNT_UNDER_SCRATCH =
USE_PID_NAMESPACES = False
# Tests and benchmarks want jobs matched and started within a second or two (minicondor: 2/5/5 s).
NEGOTIATOR_INTERVAL = 1
NEGOTIATOR_CYCLE_DELAY = 1
SCHEDD_INTERVAL = 1
NEGOTIATOR_MIN_INTERVAL = 1
JOB_START_DELAY = 0
SHADOW_QUEUE_UPDATE_INTERVAL = 2
STARTER_UPDATE_INTERVAL = 2
# Tiny payloads: more slots than cores.
NUM_CPUS = $CPUS
EOF
}

mount_proc() { mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"; }

mount_shared() {
    mkdir -p "$SHARED" "$ROOTFS$SHARED"
    chmod 1777 "$SHARED"
    mountpoint -q "$ROOTFS$SHARED" || mount --bind "$SHARED" "$ROOTFS$SHARED"
}

write_host_config() {
    mkdir -p "$HOST/tokens.d"
    chmod 700 "$HOST/tokens.d"
    local domain
    domain=$(in_pool condor_config_val UID_DOMAIN)
    # A token signed by the pool's key (created by condor_master on its first start).
    in_pool condor_token_create -identity "submitter@$domain" > "$HOST/tokens.d/submitter.new"
    chmod 600 "$HOST/tokens.d/submitter.new"
    mv "$HOST/tokens.d/submitter.new" "$HOST/tokens.d/submitter"
    cat > "$HOST/condor_config" <<EOF
# Host side of GangaJupyter's test pool (scripts/htcondor-pool.sh): export CONDOR_CONFIG=$HOST/condor_config
CONDOR_HOST = 127.0.0.1
COLLECTOR_HOST = 127.0.0.1:9618
SEC_CLIENT_AUTHENTICATION_METHODS = IDTOKENS
SEC_TOKEN_DIRECTORY = $HOST/tokens.d
# A directory the pool's workers see at the same path (for shared-filesystem jobs).
GANGAJUPYTER_SHARED_DIR = $SHARED
EOF
}

wait_for_idle_slot() {
    local i
    for i in $(seq 1 120); do
        if in_pool condor_status -af State Activity 2> /dev/null | grep -q '^Unclaimed Idle$'; then
            return 0
        fi
        sleep 0.5
    done
    die "no Unclaimed Idle slot after 60 s; see $ROOTFS/var/log/condor/"
}

start() {
    [ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot, mount)"
    mkdir -p "$ROOT"
    build_rootfs
    write_pool_config
    mount_proc
    mount_shared
    if master_pid > /dev/null; then
        log "already running (condor_master pid $(master_pid))"
    else
        in_pool sh -c 'mkdir -p /var/run/condor /var/lock/condor /var/log/condor &&
            chown condor:condor /var/run/condor /var/lock/condor /var/log/condor && condor_master'
    fi
    # The pool's signing key appears once condor_master has started.
    local i
    for i in $(seq 1 60); do
        [ -s "$ROOTFS/etc/condor/passwords.d/POOL" ] && break
        sleep 0.5
    done
    write_host_config
    wait_for_idle_slot
    log "ready: $(in_pool condor_version | head -1)"
    print_env
}

stop() {
    [ "$(id -u)" = 0 ] || die "run as root"
    local pid i
    if pid=$(master_pid); then
        # Fast shutdown: a graceful one waits for every starter, and a starter whose shadow went away (a job held
        # while sending its outputs) waits for its job lease (40 min), so "stop; start" found the pool still
        # stopping, and it went down under the tests that followed.
        in_pool condor_off -fast -master > /dev/null 2>&1 || kill -QUIT "$pid"
        for i in $(seq 1 60); do
            kill -0 "$pid" 2> /dev/null || break
            [ "$i" = 30 ] && kill -QUIT "$pid" 2> /dev/null  # the master's own fast shutdown, if the command was lost
            sleep 0.5
        done
        kill -0 "$pid" 2> /dev/null && die "condor_master (pid $pid) still running after 30 s"
        log "stopped"
    else
        log "not running"
    fi
    if [ -d "$ROOTFS" ]; then
        ! mountpoint -q "$ROOTFS$SHARED" || umount "$ROOTFS$SHARED"
        ! mountpoint -q "$ROOTFS/proc" || umount "$ROOTFS/proc"
    fi
}

status() {
    if master_pid > /dev/null; then
        log "running (condor_master pid $(master_pid)), root $ROOTFS"
        in_pool condor_status -af Name State Activity
        in_pool condor_q -allusers -totals | tail -2
    else
        log "not running (root $ROOTFS)"
        return 3
    fi
}

print_env() { echo "export CONDOR_CONFIG=$HOST/condor_config"; }

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) print_env ;;
    restart-schedd) master_pid > /dev/null || die "not running"; in_pool condor_restart -schedd ;;
    *) echo "usage: $0 start|stop|status|env|restart-schedd" >&2; exit 2 ;;
esac
