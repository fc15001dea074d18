#!/bin/bash
# Run the image, snapshot and lifecycle tests on Docker 26.1 with the
# containerd image store ("features": {"containerd-snapshotter": true}).
#
#   tools/containerd-store.sh [extra dockerd arguments]
#
# e.g. "tools/containerd-store.sh --userns-remap=default" adds user
# namespace remapping.  Not part of .ci/run (CI time); the cross-store
# snapshot test (tests/functional/test_engines.py) is.  Run as root.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTS=(
    tests/integration/test_image_loading.py
    tests/integration/test_glance_http.py
    tests/integration/test_client.py
    tests/integration/test_engine_api.py
    tests/integration/test_limits.py
    tests/functional/test_snapshot.py
    tests/functional/test_lifecycle.py
    tests/functional/test_glance_images.py
    tests/functional/test_console.py
    tests/functional/test_events.py
    tests/functional/test_resize.py
)

cd "$ROOT"
export NOVADOCKER_ENGINE=docker26
export NOVADOCKER_DOCKERD_ARGS="--config-file $ROOT/tools/containerd-store.json $*"
exec bash tools/dev.sh test "${TESTS[@]}"
