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

"""Nova loads the driver from the operators' line, with nothing copied.

``compute_driver = novadocker.virt.docker.DockerDriver``: through Nova's own
loader in both concurrency modes, by the real ``nova-compute`` program, and
from the wheels that ``pip install .`` and ``pip install -e .`` install.
"""

import base64
import contextlib
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DRIVER = 'novadocker.virt.docker.DockerDriver'
SHIM = 'nova/virt/novadocker/__init__.py'
COMPUTE_WAIT = 60

# Run in a fresh interpreter: the concurrency mode is process-wide.
LOADER = textwrap.dedent('''
    import json
    import os
    import sys

    from nova import monkey_patch
    monkey_patch.patch()

    import nova.conf
    from nova.virt import driver as virt_driver
    from nova.virt import virtapi

    CONF = nova.conf.CONF
    CONF(['--config-file', sys.argv[1]], project='nova')
    drv = virt_driver.load_compute_driver(virtapi.VirtAPI(), %(driver)r)

    import novadocker
    from novadocker.virt.docker import DockerDriver
    import nova.virt.novadocker.virt.docker as aliased
    import nova.virt.novadocker.virt.docker.driver
    import nova.virt.novadocker.conf

    # Every module of ours ran once, under its own name, whatever name
    # Nova imported it by.
    ours = os.path.dirname(novadocker.__file__)
    ran_twice = [name for name, mod in sys.modules.items()
                 if getattr(mod, '__file__', None) and
                 mod.__file__.startswith(ours) and
                 sys.modules.get(mod.__spec__.name) is not mod]
    aliases = [name for name in sys.modules
               if name.startswith('nova.virt.novadocker')]

    drv.init_host(CONF.host)
    resources = drv.get_available_resource(CONF.host)
    drv.cleanup_host(CONF.host)
    eventlet = sys.modules.get('eventlet')
    print(json.dumps({
        'is_docker_driver': isinstance(drv, DockerDriver),
        'is_compute_driver': isinstance(drv, virt_driver.ComputeDriver),
        'class': '%%s.%%s' %% (type(drv).__module__, type(drv).__name__),
        'same_class': aliased.DockerDriver is DockerDriver,
        'same_driver_module': (
            sys.modules['nova.virt.novadocker.virt.docker.driver'] is
            sys.modules['novadocker.virt.docker.driver']),
        'same_conf_module': (nova.virt.novadocker.conf is
                             sys.modules['novadocker.conf']),
        'ran_twice': ran_twice,
        'aliases': sorted(aliases),
        'host_url': CONF.docker.host_url,
        'patched': monkey_patch.is_patched(),
        'eventlet_imported': eventlet is not None,
        'vcpus': resources['vcpus'],
        'hypervisor_type': resources['hypervisor_type'],
    }))
''') % {'driver': DRIVER}


def _env(**changes):
    env = dict(os.environ)
    env.update(changes)
    return env


def _nova_conf(path, docker_url, host, extra=''):
    state = path / 'state'
    state.mkdir(exist_ok=True)
    conf = path / 'nova.conf'
    conf.write_text(textwrap.dedent('''
        [DEFAULT]
        compute_driver = %(driver)s
        host = %(host)s
        state_path = %(state)s
        instances_path = %(state)s/instances
        %(extra)s

        [docker]
        host_url = %(url)s
        watch_events = false

        [oslo_concurrency]
        lock_path = %(state)s/lock
    ''') % {'driver': DRIVER, 'host': host, 'state': state,
            'url': docker_url, 'extra': extra})
    return conf


@pytest.mark.parametrize('disable_eventlet', ['1', '0'],
                         ids=['threading', 'eventlet'])
def test_nova_loader_returns_our_driver(tmp_path, docker_url,
                                        disable_eventlet):
    host = 'nd-load-%s' % uuid.uuid4().hex[:8]
    conf = _nova_conf(tmp_path, docker_url, host)
    proc = subprocess.run(
        [sys.executable, '-c', LOADER, str(conf)], cwd=str(tmp_path),
        env=_env(OS_NOVA_DISABLE_EVENTLET_PATCHING=disable_eventlet),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts['is_docker_driver'], facts
    assert facts['is_compute_driver'], facts
    assert facts['class'] == 'novadocker.virt.docker.driver.DockerDriver'
    assert facts['same_class'], facts
    assert facts['same_driver_module'], facts
    assert facts['same_conf_module'], facts
    assert facts['ran_twice'] == []
    # Nova's loader went through the alias.
    assert 'nova.virt.novadocker.virt.docker' in facts['aliases']
    assert facts['host_url'] == docker_url
    assert facts['vcpus'] >= 1
    assert facts['hypervisor_type'] == 'docker'
    if disable_eventlet == '1':
        assert not facts['patched']
        # Nova forbids eventlet in this mode: loading worked without it.
        assert not facts['eventlet_imported']
    else:
        assert facts['patched']


def _console_script(name):
    path = shutil.which(name, path=os.path.dirname(sys.executable))
    assert path, '%s is not installed next to %s' % (name, sys.executable)
    return path


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail('%s within %d s' % (what, timeout), pytrace=False)
        time.sleep(0.5)


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(('127.0.0.1', port)) == 0


def _stop(proc, timeout=15):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


@pytest.fixture(scope='module')
def rabbit(tmp_path_factory):
    """A private RabbitMQ node: nova-compute's message bus.

    nova-compute waits for a conductor over RPC before it builds its
    compute manager (and with it the driver), so the bus must be real.
    """
    server = '/usr/lib/rabbitmq/bin/rabbitmq-server'
    assert os.path.exists(server), (
        'rabbitmq-server is missing: run tools/setup-host.sh')
    base = tmp_path_factory.mktemp('rabbit')
    port, dist_port, epmd_port = _free_port(), _free_port(), _free_port()
    (base / 'rabbitmq.conf').write_text('')
    (base / 'enabled_plugins').write_text('[].\n')
    env = _env(
        HOME=str(base),
        RABBITMQ_NODENAME='nd%d@localhost' % port,
        RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
        RABBITMQ_NODE_PORT=str(port),
        RABBITMQ_DIST_PORT=str(dist_port),
        ERL_EPMD_PORT=str(epmd_port),
        RABBITMQ_MNESIA_BASE=str(base / 'mnesia'),
        RABBITMQ_LOG_BASE=str(base / 'log'),
        RABBITMQ_LOGS=str(base / 'rabbit.log'),
        RABBITMQ_PID_FILE=str(base / 'pid'),
        RABBITMQ_CONFIG_FILE=str(base / 'rabbitmq'),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(base / 'enabled_plugins'),
        RABBITMQ_GENERATED_CONFIG_DIR=str(base / 'generated'),
        RABBITMQ_SCHEMA_DIR=str(base / 'schema'))
    out = open(base / 'stdout.txt', 'w')
    proc = subprocess.Popen([server], env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: _port_open(port) or proc.poll() is not None, 90,
              'RabbitMQ did not listen')
        assert proc.poll() is None, (base / 'stdout.txt').read_text()
        yield 'rabbit://guest:guest@127.0.0.1:%d/' % port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        out.close()
        # The node started an epmd of its own, on its own port.
        subprocess.run(['epmd', '-kill'], env=env, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# A stand-in for nova-conductor: nova's own base RPC endpoint, which
# answers the "is a conductor up?" ping that nova-compute waits for.
CONDUCTOR = textwrap.dedent('''
    import sys

    from nova import monkey_patch
    monkey_patch.patch()

    import oslo_messaging as messaging

    from nova import baserpc
    from nova import config
    from nova import objects
    from nova.objects import base as objects_base
    from nova import rpc

    config.parse_args([sys.argv[0], '--config-file', sys.argv[1]])
    objects.register_all()
    server = rpc.get_server(
        messaging.Target(topic='conductor', server=sys.argv[2]),
        [baserpc.BaseRPCAPI('conductor', None)],
        objects_base.NovaObjectSerializer())
    server.start()
    print('ready', flush=True)
    sys.stdin.read()
    server.stop()
    server.wait()
''')


@contextlib.contextmanager
def _conductor(conf, name):
    proc = subprocess.Popen(
        [sys.executable, '-c', CONDUCTOR, str(conf), name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
        env=_env(OS_NOVA_DISABLE_EVENTLET_PATCHING='1'))
    try:
        assert proc.stdout.readline().strip() == 'ready'
        yield
    finally:
        proc.stdin.close()
        _stop(proc)


class _PlacementVersions(http.server.BaseHTTPRequestHandler):
    """Placement's version document: all that nova-compute reads of it
    before it loads the driver.
    """

    def do_GET(self):
        body = json.dumps({'versions': [{
            'id': 'v1.0', 'min_version': '1.0', 'max_version': '1.39',
            'status': 'CURRENT', 'links': [{'rel': 'self', 'href': ''}],
        }]}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _placement():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                             _PlacementVersions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/placement' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


COMPUTE_EXTRA = '''
log_file = %(log)s
transport_url = %(rabbit)s

[placement]
auth_type = none
endpoint_override = %(placement)s

[DEFAULT]
'''


def test_nova_compute_loads_our_driver(tmp_path, docker_url, rabbit):
    """The real nova-compute program, with the line in its nova.conf.

    It builds its compute manager, which loads and constructs the driver;
    it then goes on to start the service, which needs a real conductor
    (and Placement): it stops there, and so does this test.
    """
    host = 'nd-compute-%s' % uuid.uuid4().hex[:8]
    log = tmp_path / 'nova-compute.log'
    constructed = 'Docker driver for host %s, engine at %s' % (host,
                                                               docker_url)
    with _placement() as placement_url:
        conf = _nova_conf(tmp_path, docker_url, host, extra=COMPUTE_EXTRA % {
            'log': log, 'rabbit': rabbit, 'placement': placement_url})
        with _conductor(conf, 'conductor-%s' % host):
            env = _env()
            # nova-compute's own default concurrency mode: native threads.
            env.pop('OS_NOVA_DISABLE_EVENTLET_PATCHING', None)
            with open(tmp_path / 'stdout.txt', 'w') as out:
                proc = subprocess.Popen(
                    [_console_script('nova-compute'), '--config-file',
                     str(conf)],
                    cwd=str(tmp_path), env=env, stdout=out,
                    stderr=subprocess.STDOUT)
                try:
                    _wait(lambda: proc.poll() is not None or (
                        log.exists() and constructed in log.read_text()),
                        COMPUTE_WAIT, 'nova-compute did not start')
                finally:
                    _stop(proc)
    text = log.read_text()
    assert 'Unable to load the virtualization driver' not in text, text
    assert "Loading compute driver '%s'" % DRIVER in text, text
    assert constructed in text, text


# Packaging


def _record(wheel):
    names = wheel.namelist()
    record, = [n for n in names if n.endswith('.dist-info/RECORD')]
    return {line.split(',')[0]: line.split(',')[1]
            for line in wheel.read(record).decode().splitlines() if line}


def _check_shim(wheel_path):
    with zipfile.ZipFile(wheel_path) as wheel:
        assert SHIM in wheel.namelist()
        record = _record(wheel)
        assert SHIM in record
        data = wheel.read(SHIM)
        digest = base64.urlsafe_b64encode(
            hashlib.sha256(data).digest()).rstrip(b'=').decode()
        assert record[SHIM] == 'sha256=' + digest
        assert b"_alias.install(__name__, 'novadocker')" in data
        # No file in the wheel is missing from RECORD.
        assert set(wheel.namelist()) == set(record)
        return wheel.namelist()


def test_wheel_carries_the_nova_virt_shim(tmp_path):
    subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q',
         '-w', str(tmp_path), ROOT],
        check=True, timeout=180, cwd=str(tmp_path))
    wheel, = tmp_path.glob('novadocker-*.whl')
    names = _check_shim(wheel)
    assert 'novadocker/virt/docker/driver.py' in names
    assert 'novadocker/_alias.py' in names
    # Only our shim under nova/: nothing else of nova is replaced.
    assert [n for n in names if n.startswith('nova/')] == [SHIM]


def test_editable_wheel_carries_the_nova_virt_shim(tmp_path):
    # What pip calls for "pip install -e .": the backend's build_editable,
    # with the build requirements of pyproject.toml, as pip provides them.
    build_env = tmp_path / 'build-env'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--target',
         str(build_env), 'setuptools>=64', 'pbr>=6.0.0', 'wheel'],
        check=True, timeout=180)
    out = tmp_path / 'out'
    out.mkdir()
    script = ('import sys, novadocker_backend; '
              'print(novadocker_backend.build_editable(sys.argv[1]))')
    proc = subprocess.run(
        [sys.executable, '-c', script, str(out)], cwd=ROOT,
        env=_env(PYTHONPATH=os.pathsep.join([
            str(build_env), os.path.join(ROOT, 'contrib', 'build')])),
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    name = proc.stdout.strip().splitlines()[-1]
    assert name.startswith('novadocker-') and name.endswith('.whl')
    names = _check_shim(out / name)
    # The rest of the package comes from the source tree.
    assert 'novadocker/virt/docker/driver.py' not in names
