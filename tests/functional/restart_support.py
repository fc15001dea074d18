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

"""Helpers for the restart and engine-kill tests (and
benchmarks/bench_restarts.py).

* :class:`UniqueBridgePorts`: ports on real OVS, on the bridge of the
  test's own that OvsPortsMixin makes, and helpers on them.
* :class:`PrivateEngineMixin`: the test runs against a
  :class:`tests.engines.RestartableEngine` of its own, so that it can
  restart or kill it.
* :class:`KillEngine`: SIGKILLs that engine when a given
  ``DockerClient`` method is entered (or from any other hook point), and
  starts it again at once, as systemd would.
"""

import threading

import fixtures

from novadocker.virt.docker import client as docker_client
from tests import engines
from tests.functional import test_networking


def ovs(*args):
    return test_networking._ovs(*args)


class UniqueBridgePorts(test_networking.OvsPortsMixin):
    """OvsPortsMixin (on the test's own bridge, ``self.bridge``) with
    helpers for its ports.
    """

    def ovs_ports(self):
        """{port name: OVS interface uuid} on the test's bridge."""
        names = ovs('list-ports', self.bridge).split()
        return {name: ovs('get', 'Interface', name, '_uuid')
                for name in names}

    def boot_with_port(self, image_id, flavor_id, port_id, name=None):
        body = self._build_server(name=name, image_uuid=image_id,
                                  flavor_id=flavor_id,
                                  networks=[{'port': port_id}])
        return self.api.post_server({'server': body})


def exec_in(api, container, *cmd):
    """(exit code, output) of ``cmd`` run in ``container``."""
    exec_id = api.exec_create(container, list(cmd))['Id']
    output = api.exec_start(exec_id).decode('utf-8', 'replace')
    return api.exec_inspect(exec_id)['ExitCode'], output


def ping(api, container, address):
    """Exit code of one busybox ping from ``container`` to ``address``."""
    return exec_in(api, container, 'ping', '-c', '1', '-W', '3', address)[0]


class PrivateEngineMixin(object):
    """For a DockerFunctionalTestCase: its engine is ``self.engine``, a
    RestartableEngine with ``live-restore`` as ``LIVE_RESTORE`` says.
    """

    LIVE_RESTORE = False

    def engine_url(self):
        engine = self.engine = engines.RestartableEngine(
            'rs', live_restore=self.LIVE_RESTORE)
        # The first cleanup runs last: after nova's services and the
        # removal of the test's containers.
        self.addCleanup(engine.remove)
        engine.start()
        return engine.url


class KillEngine(fixtures.Fixture):
    """Kills ``engine`` (SIGKILL) once, when ``DockerClient.<method>`` is
    entered with arguments that ``when(*args, **kwargs)`` accepts, or
    when :meth:`kill_now` is called; the engine is started again right
    away in a thread (as systemd restarts a dead dockerd), while the
    call goes on against the dead one. ``killed`` is set once it was
    killed, ``restarted`` once it answers again.
    """

    def __init__(self, engine, method=None, when=None):
        super().__init__()
        self.engine = engine
        self.method = method
        self.when = when or (lambda *args, **kwargs: True)
        self.killed = threading.Event()
        self.restarted = threading.Event()
        self._lock = threading.Lock()
        self._thread = None

    def _setUp(self):
        if self.method:
            real = getattr(docker_client.DockerClient, self.method)
            fixture = self

            def hooked(client, *args, **kwargs):
                if fixture.when(*args, **kwargs):
                    fixture.kill_now()
                return real(client, *args, **kwargs)
            self.useFixture(fixtures.MockPatchObject(
                docker_client.DockerClient, self.method, hooked))
        self.addCleanup(self.wait_restarted)

    def kill_now(self):
        with self._lock:
            if self.killed.is_set():
                return
            self.engine.kill()
            self.killed.set()
            self._thread = threading.Thread(target=self._restart,
                                            daemon=True)
            self._thread.start()

    def _restart(self):
        self.engine.start()
        self.restarted.set()

    def wait_restarted(self, timeout=90):
        if self._thread is not None:
            self._thread.join(timeout)
        if self.killed.is_set() and not self.restarted.is_set():
            raise AssertionError('the killed engine did not start again')
