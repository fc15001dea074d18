#!/bin/bash
# Print the directory that holds a Docker engine for novadocker's tests.
#
#   tools/engine.sh docker26     Debian 13's docker.io 26.1 and containerd
#
# Fetches the Debian 13 (trixie) docker.io and containerd packages with
# "apt-get download" through a private sources list (its own sources,
# state and cache directories, given to apt with -o options), unpacks them
# with "dpkg -x" and prints the unpacked root: its usr/sbin/dockerd runs
# with usr/bin (containerd, its shim, docker-init) first on PATH and
# Debian 12's runc.  Nothing is installed system-wide.
#
# The result is cached under $NOVADOCKER_CACHE (default
# /var/cache/novadocker, kept between runs on one machine), keyed by the
# packages' versions, so that a second run only reads the apt lists, which
# are refreshed once a day.  Concurrent callers wait on one lock.  Run as
# root.

set -euo pipefail

CACHE=${NOVADOCKER_CACHE:-/var/cache/novadocker}
SUITE=trixie
MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES=(docker.io containerd)
LISTS_MAX_AGE_MIN=1440

log() {
    echo "engine.sh: $*" >&2
}

usage() {
    sed -n '3,4s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# apt-get and apt-cache with a private configuration under $APT_DIR.
private_apt() {
    local tool=$1
    shift
    "$tool" -q \
        -o Dir::Etc::sourcelist="$APT_DIR/sources.list" \
        -o Dir::Etc::sourceparts="$APT_DIR/sources.list.d" \
        -o Dir::Etc::preferencesparts="$APT_DIR/preferences.d" \
        -o Dir::State="$APT_DIR/state" \
        -o Dir::State::status=/dev/null \
        -o Dir::Cache="$APT_DIR/cache" \
        -o APT::Sandbox::User=root \
        "$@"
}

prepare_apt_dir() {
    mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/preferences.d" \
        "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial"
    echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" \
        > "$APT_DIR/sources.list"
}

refresh_lists() {
    local stamp=$APT_DIR/state/updated
    if [ -f "$stamp" ] &&
            [ -z "$(find "$stamp" -mmin +"$LISTS_MAX_AGE_MIN")" ]; then
        return 0
    fi
    log "reading Debian $SUITE package lists"
    private_apt apt-get update >&2
    touch "$stamp"
}

# "docker.io=26.1.5... containerd=1.7.24..." for the candidates.
candidate_versions() {
    local pkg version
    for pkg in "${PACKAGES[@]}"; do
        version=$(private_apt apt-cache show --no-all-versions "$pkg" |
            sed -n 's/^Version: //p')
        if [ -z "$version" ]; then
            log "Debian $SUITE has no $pkg"
            return 1
        fi
        printf '%s=%s\n' "$pkg" "$version"
    done
}

# Download the exact versions and unpack them into $1.
unpack_into() {
    local root=$1 debs deb
    shift
    debs=$(mktemp -d "$CACHE/debs.XXXXXX")
    log "downloading $*"
    (cd "$debs" && private_apt apt-get download "$@" >&2)
    mkdir -p "$root.partial"
    for deb in "$debs"/*.deb; do
        dpkg -x "$deb" "$root.partial"
    done
    rm -rf "$debs"
    mv "$root.partial" "$root"
}

docker26() {
    local versions key root
    APT_DIR=$CACHE/apt-$SUITE
    prepare_apt_dir
    refresh_lists
    versions=$(candidate_versions)
    # One directory per pair of versions, e.g. docker.io_26.1.5..._containerd_1.7.24...
    key=$(echo "$versions" | tr '=\n+~:' '_ ___' | tr -s ' ' '_' | sed 's/_$//')
    root=$CACHE/$key
    if [ ! -x "$root/usr/sbin/dockerd" ]; then
        rm -rf "$root.partial"
        # shellcheck disable=SC2086  # one package=version per word
        unpack_into "$root" $versions
    fi
    echo "$root"
}

main() {
    local engine=${1:-}
    [ "$engine" = docker26 ] || usage
    if [ "$(id -u)" -ne 0 ]; then
        log "must run as root (dpkg -x keeps file owners)"
        exit 1
    fi
    mkdir -p "$CACHE"
    exec 8>"$CACHE/.lock"
    flock 8
    "$engine"
}

main "$@"
