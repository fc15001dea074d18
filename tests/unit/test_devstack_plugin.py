# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The devstack plugin and the legacy hypervisor file, run for real.

devstack itself is not installed: a devstack-like tree in a temp dir gives
the plugin the functions it calls.  The ini functions really edit the
files (through novadocker.setup.ini); package, user and service functions
only record their calls, so the host's packages and users stay as they
are.  Docker commands go to the test engine (``$DOCKER_HOST``) and the
``openstack`` command is a small Glance stand-in that stores the uploaded
file and its arguments.
"""

import json
import os
import stat
import subprocess
import sys
import tarfile
import time
import uuid

import pytest

from novadocker.setup import ini

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DRIVER = 'novadocker.virt.docker.DockerDriver'

STUB_INI = """\
import sys
from novadocker.setup import ini
cmd, path, section, key = sys.argv[1:5]
try:
    with open(path) as f:
        text = f.read()
except FileNotFoundError:
    text = ''
if cmd == 'get':
    print(ini.get(text, section, key) or '')
    sys.exit(0)
if cmd == 'set':
    new = ini.set_value(text, section, key, sys.argv[5])
else:
    new = ini.comment_out(text, section, key)
if new != text:
    with open(path, 'w') as f:
        f.write(new)
"""

FUNCTIONS = r"""
# Stand-ins for devstack's functions-common and inc/ini-config.
_log() { echo "$*" >> "$CALLS"; }
_ini() { "$STUB_PYTHON" "$STUB_INI" "$@"; }
iniset() { if [[ $1 == -sudo ]]; then shift; fi; _ini set "$@"; }
iniget() { _ini get "$@"; }
inicomment() { if [[ $1 == -sudo ]]; then shift; fi; _ini comment "$@"; }
is_service_enabled() {
    local s
    for s in "$@"; do
        if [[ ,$ENABLED_SERVICES, == *,$s,* ]]; then return 0; fi
    done
    return 1
}
install_package() { _log install_package "$@"; }
add_user_to_group() { _log add_user_to_group "$@"; }
start_service() { _log start_service "$@"; }
setup_develop() { _log setup_develop "$@"; }
is_ubuntu() { return 0; }
is_fedora() { return 1; }
die() { echo "die: $*" >&2; exit 1; }
echo_summary() { echo "$*"; }
sudo() { _log sudo "$@"; "$@"; }
chmod() { _log chmod "$@"; command chmod "$@"; }
openstack() {
    _log openstack "$@"
    shift 2
    case "$1 $2" in
        "image show") [[ -f $GLANCE_STORE/$3.meta ]] ;;
        "image create")
            shift 2
            local file meta=()
            while (( $# > 1 )); do
                if [[ $1 == --file ]]; then file=$2; shift 2
                else meta+=("$1"); shift; fi
            done
            cp "$file" "$GLANCE_STORE/$1.tar"
            printf '%s\n' "${meta[@]}" > "$GLANCE_STORE/$1.meta" ;;
        *) return 1 ;;
    esac
}
"""

PLUGIN_RUN = """
set -o errexit
source "$TOP_DIR/functions"
source "$NOVADOCKER_REPO/devstack/settings"
for phase in $PHASES; do
    source "$NOVADOCKER_REPO/devstack/plugin.sh" $MODE "$phase"
done
echo "VIRT_DRIVER=$VIRT_DRIVER DEFAULT_IMAGE_NAME=$DEFAULT_IMAGE_NAME" \
    "IMAGE_URLS=[$IMAGE_URLS]"
"""

LEGACY_RUN = """
set -o errexit
source "$TOP_DIR/functions"
source "$TOP_DIR/localrc"
if [[ -r $TOP_DIR/lib/nova_plugins/hypervisor-$VIRT_DRIVER ]]; then
    source "$TOP_DIR/lib/nova_plugins/hypervisor-$VIRT_DRIVER"
fi
for step in $STEPS; do
    ${step}_nova_hypervisor
done
"""

NOVA_CONF = """\
[DEFAULT]
debug = True
compute_driver = libvirt.LibvirtDriver

[libvirt]
virt_type = kvm
"""
GLANCE_CONF = """\
[DEFAULT]
bind_port = 9292
container_formats = ami,ari,aki,bare,ovf
"""
FILTERS = """\
[Filters]
privsep-novadocker: RegExpFilter, privsep-helper, root, privsep-helper
"""


class Tree(object):
    """A devstack-like tree: /etc-style config files and the stubs."""

    def __init__(self, base, docker_url):
        self.base = str(base)
        self.top = os.path.join(self.base, 'devstack')
        self.etc_nova = os.path.join(self.base, 'etc', 'nova')
        self.nova_conf = os.path.join(self.etc_nova, 'nova.conf')
        self.glance_conf = os.path.join(self.base, 'etc', 'glance',
                                        'glance-api.conf')
        self.filters_src = os.path.join(self.base, 'docker.filters')
        self.store = os.path.join(self.base, 'glance-store')
        self.calls = os.path.join(self.base, 'calls')
        self.image = 'novadocker-test-devstack-%s' % uuid.uuid4().hex[:10]
        for path, text in ((self.nova_conf, NOVA_CONF),
                           (self.glance_conf, GLANCE_CONF),
                           (self.filters_src, FILTERS),
                           (os.path.join(self.top, 'functions'), FUNCTIONS),
                           (os.path.join(self.base, 'stub_ini.py'),
                            STUB_INI)):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
        os.makedirs(self.store)
        self.env = dict(
            os.environ, TOP_DIR=self.top, DEST=self.base,
            NOVADOCKER_REPO=ROOT, STACK_USER='stack',
            NOVA_CONF=self.nova_conf, NOVA_CONF_DIR=self.etc_nova,
            GLANCE_API_CONF=self.glance_conf, REGION_NAME='RegionOne',
            ENABLED_SERVICES='n-cpu,g-api,glance,key',
            NOVADOCKER_HOST_URL=docker_url,
            NOVADOCKER_IMAGE_NAME=self.image,
            NOVADOCKER_FILTERS=self.filters_src,
            CALLS=self.calls, GLANCE_STORE=self.store,
            # devstack's Python (stackrc), with novadocker installed.
            PYTHON=sys.executable,
            NOVADOCKER_HOLD_PROGRAM=os.path.join(self.base, 'hold'),
            STUB_PYTHON=sys.executable,
            STUB_INI=os.path.join(self.base, 'stub_ini.py'))

    def run(self, script, **env):
        result = subprocess.run(
            ['bash', '-c', script], env=dict(self.env, **env),
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def read(self, path):
        with open(path) as f:
            return f.read()

    def call_log(self):
        if not os.path.exists(self.calls):
            return []
        return self.read(self.calls).splitlines()

    def snapshot(self):
        """Every file of the tree but the call log, with its mode."""
        files = {}
        for dirpath, _dirs, names in os.walk(self.base):
            for name in names:
                path = os.path.join(dirpath, name)
                if path != self.calls:
                    with open(path, 'rb') as f:
                        files[path] = (os.stat(path).st_mode, f.read())
        return files

    @property
    def installed_filters(self):
        return os.path.join(self.etc_nova, 'rootwrap.d', 'docker.filters')


@pytest.fixture
def tree(tmp_path, docker_url, docker_api):
    t = Tree(tmp_path, docker_url)
    yield t
    for ref in docker_api.images(name=t.image, quiet=True):
        docker_api.remove_image(ref, force=True)


def check_configured(tree):
    nova = tree.read(tree.nova_conf)
    assert ini.get(nova, 'DEFAULT', 'compute_driver') == DRIVER
    assert ini.get(nova, 'docker', 'host_url') == tree.env[
        'NOVADOCKER_HOST_URL']
    assert ini.get(nova, 'libvirt', 'virt_type') == 'kvm'
    assert tree.read(tree.installed_filters) == FILTERS
    assert stat.S_IMODE(os.stat(tree.installed_filters).st_mode) == 0o644
    glance = tree.read(tree.glance_conf)
    # The formats that were there stay; docker is added; the list leaves
    # the deprecated [DEFAULT] place.
    assert ini.get(glance, 'image_format', 'container_formats') == (
        'ami,ari,aki,bare,ovf,docker')
    assert ini.get(glance, 'DEFAULT', 'container_formats') is None
    calls = tree.call_log()
    assert 'install_package docker.io busybox-static' in calls
    assert 'start_service docker' in calls
    assert 'add_user_to_group stack docker' in calls
    assert 'setup_develop %s' % ROOT in calls
    assert 'install_package gcc libc6-dev' in calls
    hold = tree.env['NOVADOCKER_HOLD_PROGRAM']
    assert os.access(hold, os.X_OK)
    assert ini.get(nova, 'docker', 'hold_program') == hold
    # Socket access is group membership, never an open socket.
    for call in calls:
        assert not (call.startswith('chmod') and (
            'docker.sock' in call or '666' in call or 'o+w' in call)), call


def check_image(tree, docker_api):
    config = docker_api.inspect_image(tree.image)['Config']
    assert config['Cmd'][0] == '/bin/httpd'
    meta = tree.read(os.path.join(tree.store, tree.image + '.meta')).split()
    assert meta[meta.index('--container-format') + 1] == 'docker'
    assert meta[meta.index('--disk-format') + 1] == 'raw'
    assert 'hypervisor_type=docker' in meta
    with tarfile.open(os.path.join(tree.store, tree.image + '.tar')) as tar:
        manifest = json.load(tar.extractfile('manifest.json'))
    # Uploaded under its Docker name: the Glance name is the repo.
    assert manifest[0]['RepoTags'] == ['%s:latest' % tree.image]


def check_image_runs(docker_api, image):
    """The default image's process keeps running (a web server)."""
    name = 'novadocker-test-devstack-run-%s' % uuid.uuid4().hex[:10]
    container = docker_api.create_container(
        image, name=name, host_config=docker_api.create_host_config(
            network_mode='none'))
    try:
        docker_api.start(container)
        time.sleep(1)
        state = docker_api.inspect_container(container)['State']
        assert state['Running'], state
    finally:
        docker_api.remove_container(container, force=True)


def test_plugin_phases_configure_and_second_run_changes_nothing(
        tree, docker_api):
    phases = 'install post-config extra'
    out = tree.run(PLUGIN_RUN, MODE='stack', PHASES=phases)
    assert 'VIRT_DRIVER=docker DEFAULT_IMAGE_NAME=%s IMAGE_URLS=[ ]' % (
        tree.image) in out
    check_configured(tree)
    check_image(tree, docker_api)
    check_image_runs(docker_api, tree.image)
    image_id = docker_api.inspect_image(tree.image)['Id']

    before = tree.snapshot()
    first_calls = len(tree.call_log())
    tree.run(PLUGIN_RUN, MODE='stack', PHASES=phases)
    assert tree.snapshot() == before
    assert docker_api.inspect_image(tree.image)['Id'] == image_id
    again = tree.call_log()[first_calls:]
    assert not [c for c in again if ' image create ' in c], again
    assert not [c for c in again if ' import ' in c], again

    tree.run(PLUGIN_RUN, MODE='clean', PHASES='clean')
    assert not os.path.exists(tree.installed_filters)
    assert docker_api.images(name=tree.image, quiet=True) == []


def test_plugin_does_only_what_the_node_runs(tree):
    tree.run(PLUGIN_RUN, MODE='stack', PHASES='install post-config extra',
             ENABLED_SERVICES='g-api,glance')
    # A Glance-only node: Glance is configured, nova.conf is not touched,
    # nothing is installed and no image is built.
    assert tree.read(tree.nova_conf) == NOVA_CONF
    assert 'docker' in tree.read(tree.glance_conf)
    assert tree.call_log() == []


def test_unset_glance_formats_are_left_to_glance_default(tree):
    conf = '[DEFAULT]\nbind_port = 9292\n'
    with open(tree.glance_conf, 'w') as f:
        f.write(conf)
    tree.run(PLUGIN_RUN, MODE='stack', PHASES='post-config',
             ENABLED_SERVICES='g-api')
    assert tree.read(tree.glance_conf) == conf


def test_missing_filter_file_stops_the_stack(tree):
    result = subprocess.run(
        ['bash', '-c', PLUGIN_RUN],
        env=dict(tree.env, MODE='stack', PHASES='post-config',
                 NOVADOCKER_FILTERS=os.path.join(tree.base, 'nope')),
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert 'nope is missing' in result.stderr


def prepare(tree):
    result = subprocess.run(
        [os.path.join(ROOT, 'contrib', 'devstack', 'prepare_devstack.sh')],
        env=dict(tree.env, DEVSTACK_DIR=tree.top,
                 DEFAULT_IMAGE_NAME=tree.image),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_prepare_devstack_writes_localrc_once(tree):
    localrc = os.path.join(tree.top, 'localrc')
    with open(localrc, 'w') as f:
        f.write('ADMIN_PASSWORD=secret\n')
    prepare(tree)
    hypervisor = os.path.join(tree.top, 'lib', 'nova_plugins',
                              'hypervisor-docker')
    assert tree.read(hypervisor) == tree.read(os.path.join(
        ROOT, 'contrib', 'devstack', 'lib', 'nova_plugins',
        'hypervisor-docker'))
    text = tree.read(localrc)
    assert text.startswith('ADMIN_PASSWORD=secret\n')
    for line in ('export VIRT_DRIVER=docker',
                 'export DEFAULT_IMAGE_NAME=%s' % tree.image,
                 'export IMAGE_URLS=" "',
                 'export NOVADOCKER_DIR=%s' % ROOT):
        assert line in text.splitlines()
    before = tree.snapshot()
    prepare(tree)
    assert tree.snapshot() == before


def test_prepare_devstack_edits_local_conf(tree):
    local_conf = os.path.join(tree.top, 'local.conf')
    original = ('[[local|localrc]]\nADMIN_PASSWORD=secret\n\n'
                '[[post-config|$NOVA_CONF]]\n[DEFAULT]\ndebug = True\n')
    with open(local_conf, 'w') as f:
        f.write(original)
    prepare(tree)
    text = tree.read(local_conf)
    assert not os.path.exists(os.path.join(tree.top, 'localrc'))
    head, _sep, rest = text.partition('[[post-config|$NOVA_CONF]]')
    assert 'export VIRT_DRIVER=docker' in head
    assert rest == '\n[DEFAULT]\ndebug = True\n'
    assert text.replace(text[text.index('# BEGIN'):
                             text.index('# END novadocker\n') + 17],
                        '') == original
    before = tree.read(local_conf)
    prepare(tree)
    assert tree.read(local_conf) == before

    with open(local_conf, 'w') as f:
        f.write('[[post-config|$NOVA_CONF]]\n[DEFAULT]\n')
    prepare(tree)
    text = tree.read(local_conf)
    assert '[[local|localrc]]\n# BEGIN novadocker' in text


def test_legacy_hypervisor_file_drives_the_same_setup(tree, docker_api):
    prepare(tree)
    steps = 'install configure start stop'
    tree.run(LEGACY_RUN, STEPS=steps)
    check_configured(tree)
    check_image(tree, docker_api)
    before = tree.snapshot()
    tree.run(LEGACY_RUN, STEPS=steps)
    assert tree.snapshot() == before
    tree.run(LEGACY_RUN, STEPS='cleanup')
    assert not os.path.exists(tree.installed_filters)
    assert docker_api.images(name=tree.image, quiet=True) == []
