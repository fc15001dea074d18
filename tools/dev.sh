#!/bin/bash
# The one entry point for novadocker's demo and tests on a Debian 12 host.
#
#   tools/dev.sh demo                  boot busybox from Glance through Nova's
#                                      API, show it, delete it
#   tools/dev.sh test [pytest args]    run the test suite
#   tools/dev.sh lint                  flake8 (hacking), license, shellcheck
#
# Prepares the host (tools/setup-host.sh), starts a private Docker engine in
# a fresh temporary directory (its own data-root, exec-root and socket; no
# bridge, no iptables) and Open vSwitch if it is not running, runs the
# command against them, and on exit stops exactly what it started (Open
# vSwitch once the last run using it has ended: runs can overlap).  Run
# as root.  "lint" needs neither.  "test" runs the lint step (tests/lint) too,
# before pytest, when its run covers the unit suite (no paths given, or
# "tests" or "tests/unit" among them); the run fails if either fails.
#
# Environment:
#   NOVADOCKER_ENGINE        which dockerd to start: "system" (default,
#                            Debian 12's docker.io 20.10) or "docker26"
#                            (Debian 13's docker.io 26.1 and containerd,
#                            fetched and cached by tools/engine.sh, run with
#                            Debian 12's runc; it refuses clients below
#                            Engine API 1.44, as Docker 29 and later do)
#   NOVADOCKER_DOCKERD_ARGS  extra dockerd arguments, split on blanks, e.g.
#                            "--userns-remap=default" or
#                            "--config-file tools/containerd-store.json"

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
DOCKERD_WAIT=60
ENGINE=${NOVADOCKER_ENGINE:-system}
DOCKERD_ARGS=${NOVADOCKER_DOCKERD_ARGS:-}
# Environment of the dockerd started here (select_engine).
DOCKERD_ENV=()

RUN_DIR=
DOCKERD_PID=
OVS_REGISTERED=0

log() {
    echo "dev.sh: $*" >&2
}

usage() {
    sed -n '3,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# Run "$@" until it succeeds, at most $1 times, one second apart.
retry() {
    local tries=$1 i
    shift
    for ((i = 0; i < tries; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    return 1
}

# Whether the engine answers GET /_ping on its socket.  Not through the
# docker CLI: Debian 12's (API 1.41) is refused by an engine whose floor is
# higher.
docker_answers() {
    python3 - "${DOCKER_HOST#unix://}" <<'PING'
import socket
import sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b'GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n')
status = s.recv(64).split(b'\r\n', 1)[0].split()
sys.exit(0 if status[1:2] == [b'200'] else 1)
PING
}

dockerd_alive() {
    kill -0 "$DOCKERD_PID" 2>/dev/null
}

# Put the chosen engine's dockerd (and its containerd) first on PATH, so
# that this script and the tests' own extra daemons start the same engine.
select_engine() {
    local root
    case $ENGINE in
        system) ;;
        docker26)
            root=$(bash "$ROOT/tools/engine.sh" docker26)
            export PATH=$root/usr/sbin:$root/usr/bin:$PATH
            # Docker 29 accepts Engine API 1.44 and later only; Docker 26
            # does the same with this setting, so the tests show that the
            # driver uses nothing older.
            DOCKERD_ENV=(DOCKER_MIN_API_VERSION=1.44)
            ;;
        *)
            log "unknown NOVADOCKER_ENGINE=$ENGINE (system or docker26)"
            return 2
            ;;
    esac
    export NOVADOCKER_ENGINE=$ENGINE
    log "engine $ENGINE: $(dockerd --version)"
}

start_dockerd() {
    local extra=()
    read -r -a extra <<< "$DOCKERD_ARGS"
    RUN_DIR=$(mktemp -d /tmp/novadocker-dev.XXXXXX)
    # With --userns-remap the remapped root must traverse it to its data.
    chmod 0711 "$RUN_DIR"
    export DOCKER_HOST=unix://$RUN_DIR/docker.sock
    env "${DOCKERD_ENV[@]}" \
        dockerd --data-root "$RUN_DIR/data" --exec-root "$RUN_DIR/exec" \
        -H "$DOCKER_HOST" --pidfile "$RUN_DIR/pid" \
        --bridge=none --iptables=false --ip-masq=false \
        "${extra[@]}" \
        >"$RUN_DIR/dockerd.log" 2>&1 </dev/null &
    DOCKERD_PID=$!
    local i
    for ((i = 0; i < DOCKERD_WAIT; i++)); do
        if docker_answers >/dev/null 2>&1; then
            log "dockerd $DOCKERD_PID listens on $DOCKER_HOST"
            return 0
        fi
        dockerd_alive || break
        sleep 1
    done
    log "dockerd did not come up on $DOCKER_HOST; its log:"
    tail -n 40 "$RUN_DIR/dockerd.log" >&2 || true
    return 1
}

stop_dockerd() {
    local pid=$DOCKERD_PID
    if [ -f "$RUN_DIR/pid" ]; then
        pid=$(cat "$RUN_DIR/pid")
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        # dockerd stops its containers (15 s each at most) and containerd.
        if ! retry 60 bash -c "! kill -0 $pid"; then
            log "dockerd $pid ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [ -n "$DOCKERD_PID" ]; then
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
}

remove_run_dir() {
    local mnt
    # Overlay and netns mounts that a killed dockerd left behind.
    findmnt -rn -o TARGET | { grep -F "$RUN_DIR/" || true; } | sort -r |
        while read -r mnt; do
            umount -l "$mnt" || true
        done
    rm -rf "$RUN_DIR"
}

ovs_answers() {
    ovs-vsctl --timeout=5 show
}

# Open vSwitch is shared by every run on the host (CI runs two at once), so
# it has one owner: the first run that finds it stopped starts it, each run
# registers itself in $OVS_USERS, and the last registered run to leave stops
# it, and only if a run of this script started it.  All of it under one lock.
OVS_STATE=/run/novadocker-ovs
OVS_USERS=$OVS_STATE/users
OVS_OURS=$OVS_STATE/started-here

# Take and drop the OVS lock (file descriptor 9).
lock_ovs() {
    mkdir -p "$OVS_USERS"
    exec 9>"$OVS_STATE/lock"
    flock 9
}

unlock_ovs() {
    exec 9>&-
}

# Forget registered runs that have ended without leaving (killed).
forget_gone_ovs_users() {
    local entry
    for entry in "$OVS_USERS"/*; do
        [ -e "$entry" ] || continue
        kill -0 "${entry##*/}" 2>/dev/null || rm -f "$entry"
    done
}

start_ovs() {
    lock_ovs
    OVS_REGISTERED=1
    forget_gone_ovs_users
    if ! ovs_answers >/dev/null 2>&1; then
        log "starting Open vSwitch (userspace datapath)"
        # Not holding the lock: its daemons outlive this run.
        "$OVS_CTL" start --system-id=random --no-mlockall \
            --no-record-hostname >&2 9>&- || true
        touch "$OVS_OURS"
    fi
    touch "$OVS_USERS/$$"
    unlock_ovs
    if retry 10 ovs_answers; then
        export NOVADOCKER_TEST_OVS=1
    else
        log "WARNING: Open vSwitch does not answer; OVS tests will fail"
    fi
}

stop_ovs() {
    [ "$OVS_REGISTERED" = 1 ] || return 0
    lock_ovs
    rm -f "$OVS_USERS/$$"
    forget_gone_ovs_users
    if [ -e "$OVS_OURS" ] && [ -z "$(ls -A "$OVS_USERS")" ]; then
        log "stopping Open vSwitch (the last run using it)"
        "$OVS_CTL" stop >&2 9>&- || true
        rm -f "$OVS_OURS"
    fi
    unlock_ovs
}

cleanup() {
    local rc=$?
    # Clean up as much as possible, whatever fails.
    set +e
    trap - EXIT INT TERM
    stop_ovs
    if [ -n "$RUN_DIR" ]; then
        stop_dockerd
        remove_run_dir
    fi
    exit "$rc"
}

# Pytest arguments: "tests" unless the caller named paths or test ids.
pytest_args() {
    if [ -z "$(test_paths "$@")" ]; then
        echo tests --ignore=tests/lint
    fi
}

# The arguments that name test paths or test ids, one a line.
test_paths() {
    local arg
    for arg in "$@"; do
        case $arg in
            -*) ;;
            *) if [ -e "${arg%%::*}" ]; then echo "${arg%/}"; fi ;;
        esac
    done
}

# Whether a pytest run with these arguments covers the unit suite.
covers_unit_suite() {
    local paths
    paths=$(test_paths "$@")
    [ -z "$paths" ] || grep -qx -e tests -e tests/unit <<< "$paths"
}

# flake8 with hacking, the license headers and shellcheck.  The
# --confcutdir keeps tests/conftest.py (Nova, Docker) out of it.
run_lint() {
    log "lint: flake8 (hacking), license headers, shellcheck"
    "$VENV/bin/python" -m pytest -p no:cacheprovider \
        --confcutdir=tests/lint tests/lint "$@"
}

main() {
    local cmd=${1:-}
    case $cmd in
        demo|test|lint) shift ;;
        *) usage ;;
    esac
    cd "$ROOT"
    bash "$ROOT/tools/setup-host.sh"
    if [ "$cmd" = lint ]; then
        run_lint "$@"
        return
    fi
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    select_engine
    start_dockerd
    start_ovs
    case $cmd in
        demo)
            "$VENV/bin/python" contrib/demo.py "$@"
            ;;
        test)
            local default lint=0
            if covers_unit_suite "$@"; then
                run_lint || lint=$?
            fi
            default=$(pytest_args "$@")
            # shellcheck disable=SC2086  # $default is empty or "tests ..."
            "$VENV/bin/python" -m pytest $default "$@"
            return "$lint"
            ;;
    esac
}

main "$@"
