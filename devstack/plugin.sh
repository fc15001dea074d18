#!/bin/bash
#
# devstack/plugin.sh: the novadocker devstack plugin.
#
# In local.conf:
#
#   [[local|localrc]]
#   enable_plugin novadocker https://opendev.org/x/novadocker
#
# devstack sources this file with the mode and phase as arguments.  On a
# node running nova-compute (n-cpu) it installs Docker from the distro,
# installs the driver, points nova.conf at it, installs the rootwrap filter
# and puts the nova-compute user into the docker group; on a node running
# glance-api (g-api) it lets Glance accept container_format=docker; and
# once the cloud is up it builds and uploads the default image.

_XTRACE_NOVADOCKER_PLUGIN=$(set +o | grep xtrace)
set +o xtrace

NOVADOCKER_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NOVADOCKER_DIR=${NOVADOCKER_DIR:-$(dirname "$NOVADOCKER_PLUGIN_DIR")}
# shellcheck source=devstack/lib/novadocker
source "$NOVADOCKER_PLUGIN_DIR/lib/novadocker"

case "${1:-}/${2:-}" in
    stack/install)
        if is_service_enabled n-cpu; then
            echo_summary "Installing Docker and novadocker"
            install_novadocker_docker
            install_novadocker
            build_novadocker_hold
        fi
        ;;
    stack/post-config)
        if is_service_enabled n-cpu; then
            echo_summary "Configuring nova-compute for novadocker"
            configure_novadocker_compute
        fi
        if is_service_enabled g-api; then
            echo_summary "Configuring Glance for Docker images"
            configure_novadocker_glance
        fi
        ;;
    stack/extra)
        if is_service_enabled n-cpu && is_service_enabled glance; then
            echo_summary "Uploading the novadocker default image"
            build_novadocker_image
            upload_novadocker_image
        fi
        ;;
    clean/*)
        cleanup_novadocker
        ;;
esac

$_XTRACE_NOVADOCKER_PLUGIN
