#!/bin/bash
# Prepare this Debian 12 host for novadocker's demo and tests.
#
# Idempotent and quick when already done: installs the Debian packages that
# are missing, creates .venv in the repository and installs the project
# (editable) with its test requirements into it.  Run as root.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
PYTHON=${PYTHON:-python3}
# rabbitmq-server: the message bus of the test that starts nova-compute.
# xfsprogs: the volume tests grow an XFS volume online.
# docker-registry, apache2-utils (htpasswd) and openssl: the private
# registry of the registry tests (tests/registry.py).
# gcc and libc6-dev: novadocker-build-hold compiles a static program.
PACKAGES=(docker.io busybox-static gcc libc6-dev openvswitch-switch iproute2
          shellcheck rabbitmq-server python3-venv git xfsprogs docker-registry
          apache2-utils openssl)

log() {
    echo "setup-host: $*" >&2
}

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
                grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    if [[ " ${missing[*]} " == *" docker-registry "* ]] &&
            command -v systemctl >/dev/null 2>&1; then
        # Debian starts the registry it installs (port 5000, no auth); the
        # tests start registries of their own.
        systemctl disable --now docker-registry.service >/dev/null 2>&1 ||
            true
    fi
}

# A digest of everything that decides what pip installs, so that a second
# run skips pip when nothing changed.
requirements_digest() {
    (cd "$ROOT" && cat requirements.txt test-requirements.txt setup.cfg \
        setup.py pyproject.toml contrib/build/*.py) | sha256sum | cut -d' ' -f1
}

install_venv() {
    local stamp=$VENV/.novadocker-installed digest
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    digest=$(requirements_digest)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
        return 0
    fi
    log "installing novadocker and its test requirements into $VENV"
    export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
    (cd "$ROOT" && "$VENV/bin/pip" install -q -e . -r test-requirements.txt)
    echo "$digest" > "$stamp"
}

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs packages and starts daemons)"
    exit 1
fi
# The program that holds a container's entrypoint until its network is
# wired ([docker] hold_program); rebuilt when its source changed.
build_hold() {
    "$VENV/bin/novadocker-build-hold" >/dev/null
}

install_packages
install_venv
build_hold
