#!/bin/bash
#
# Prepare a devstack tree for novadocker the legacy way (VIRT_DRIVER=docker):
#
#   cd /opt/stack/novadocker && ./contrib/devstack/prepare_devstack.sh
#   cd /opt/stack/devstack && ./stack.sh
#
# Copies lib/nova_plugins/hypervisor-docker into the devstack tree
# (DEVSTACK_DIR, default /opt/stack/devstack) and adds the novadocker
# settings to its localrc, or to the [[local|localrc]] section of local.conf
# when only local.conf exists.  Running it again replaces its own block, so
# it is idempotent.  The modern way is "enable_plugin novadocker <repo>" in
# local.conf (see devstack/README.rst).

set -euo pipefail

NOVADOCKER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEVSTACK_DIR=${DEVSTACK_DIR:-/opt/stack/devstack}
DEFAULT_IMAGE_NAME=${DEFAULT_IMAGE_NAME:-novadocker-busybox}
BEGIN='# BEGIN novadocker (contrib/devstack/prepare_devstack.sh)'
END='# END novadocker'

settings_block() {
    echo "$BEGIN"
    echo 'export VIRT_DRIVER=docker'
    echo "export NOVADOCKER_DIR=$NOVADOCKER_DIR"
    echo "export NOVADOCKER_IMAGE_NAME=$DEFAULT_IMAGE_NAME"
    echo "export DEFAULT_IMAGE_NAME=$DEFAULT_IMAGE_NAME"
    echo '# No VM images: they cannot boot as containers.'
    echo 'export IMAGE_URLS=" "'
    echo "$END"
}

# The file without an earlier block of ours.
strip_block() {
    awk -v begin="$BEGIN" -v end="$END" '
        $0 == begin { skip = 1 }
        !skip { print }
        $0 == end { skip = 0 }' "$1"
}

# localrc: the block goes at the end.
write_localrc() {
    local file=$1 tmp
    tmp=$(mktemp "$file.XXXXXX")
    if [[ -f $file ]]; then
        strip_block "$file" > "$tmp"
    fi
    settings_block >> "$tmp"
    # cat, not mv: an existing file keeps its mode and owner.
    cat "$tmp" > "$file"
    rm -f "$tmp"
}

# local.conf: the block goes first in [[local|localrc]], which is added
# when missing.
write_local_conf() {
    local file=$1 tmp block
    block=$(settings_block)
    tmp=$(mktemp "$file.XXXXXX")
    strip_block "$file" > "$tmp.in"
    if ! grep -q '^\[\[local|localrc\]\]' "$tmp.in"; then
        printf '[[local|localrc]]\n' >> "$tmp.in"
    fi
    awk -v block="$block" '
        { print }
        /^\[\[local\|localrc\]\]/ && !done { print block; done = 1 }' \
        "$tmp.in" > "$tmp"
    cat "$tmp" > "$file"
    rm -f "$tmp.in" "$tmp"
}

if [[ ! -d $DEVSTACK_DIR ]]; then
    echo "prepare_devstack.sh: no devstack tree at $DEVSTACK_DIR" \
        "(set DEVSTACK_DIR)" >&2
    exit 1
fi
install -d "$DEVSTACK_DIR/lib/nova_plugins"
install -m 0644 \
    "$NOVADOCKER_DIR/contrib/devstack/lib/nova_plugins/hypervisor-docker" \
    "$DEVSTACK_DIR/lib/nova_plugins/hypervisor-docker"
if [[ -f $DEVSTACK_DIR/local.conf && ! -f $DEVSTACK_DIR/localrc ]]; then
    write_local_conf "$DEVSTACK_DIR/local.conf"
    echo "prepare_devstack.sh: updated $DEVSTACK_DIR/local.conf"
else
    write_localrc "$DEVSTACK_DIR/localrc"
    echo "prepare_devstack.sh: updated $DEVSTACK_DIR/localrc"
fi
