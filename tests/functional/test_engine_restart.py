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

"""The Docker engine restarts under running servers (doc/reliability.rst).

Each test runs its own dockerd (so that it can restart it), with
``live-restore`` off or on, boots servers through Nova's API, stops one,
restarts the engine, and runs Nova's power sync. Afterwards every
server's power state in Nova is the driver's, no container is doubled,
and the servers that run answer an exec.
"""

import os
import shutil
import subprocess
import tempfile
import time

import docker
from nova.compute import power_state

from tests.functional import base

SERVERS = 3
DOCKERD_WAIT = 60


class PrivateEngine(object):
    """A dockerd of the test's own, which it may restart."""

    def __init__(self, live_restore):
        # Short: containerd's socket lives under the exec root.
        self.base = tempfile.mkdtemp(prefix='ndeng', dir='/tmp')
        self.url = 'unix://%s/docker.sock' % self.base
        self.args = ['dockerd', '--data-root', self.base + '/data',
                     '--exec-root', self.base + '/exec',
                     '--pidfile', self.base + '/pid', '-H', self.url,
                     '--bridge=none', '--iptables=false',
                     '--ip-masq=false']
        if live_restore:
            self.args.append('--live-restore')
        self.proc = None

    def start(self):
        log = open(os.path.join(self.base, 'dockerd.log'), 'a')
        self.proc = subprocess.Popen(self.args, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + DOCKERD_WAIT
        while True:
            try:
                api = docker.APIClient(base_url=self.url, version='auto',
                                       timeout=10)
                api.version()
                api.close()
                return
            except docker.errors.DockerException:
                if (self.proc.poll() is not None or
                        time.monotonic() > deadline):
                    raise
                time.sleep(0.3)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def remove(self):
        with open('/proc/self/mounts') as f:
            mounts = [line.split()[1] for line in f]
        for mount in sorted((m for m in mounts
                             if m.startswith(self.base + '/')),
                            reverse=True):
            subprocess.run(['umount', '-l', mount], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


class _EngineRestartTestCase(base.DockerFunctionalTestCase):
    # The power sync casts stops while it holds the instance's lock.
    CAST_AS_CALL = False
    LIVE_RESTORE = False

    def engine_url(self):
        engine = self.engine = PrivateEngine(self.LIVE_RESTORE)
        # The first cleanup runs last: after nova's services and the
        # removal of the test's containers (and after nova clears the
        # test's attributes).
        self.addCleanup(engine.remove)
        self.addCleanup(engine.stop)
        engine.start()
        return engine.url

    def setUp(self):
        super().setUp()
        image = self.create_docker_image()['id']
        flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                     ephemeral=0)
        self.servers = [self.boot(image, flavor) for _ in range(SERVERS)]
        self.servers[-1] = self._stop_server(self.servers[-1])

    def restart_engine(self):
        """Restart the engine; returns the seconds until every server
        whose container runs answers an exec.
        """
        start = time.monotonic()
        self.engine.stop()
        self.engine.start()
        self.compute.manager._sync_power_states(self.ctxt)
        for server in self.servers:
            self._wait_settled(server)
        for server in self.servers:
            info = self.container(server)
            if info['State']['Running']:
                exec_id = self.docker.exec_create(info['Id'],
                                                  ['true'])['Id']
                self.docker.exec_start(exec_id)
        return time.monotonic() - start

    def _wait_settled(self, server):
        self.wait_for(lambda: self.api.get_server(server['id'])[
            'OS-EXT-STS:task_state'] is None, timeout=60,
            what='server %s to settle' % server['id'])

    def assert_consistent(self):
        names = [c['Names'][0] for c in self.docker.containers(all=True)]
        self.assertEqual(len(names), len(set(names)))
        for server in self.servers:
            found = self.api.get_server(server['id'])
            driver = self.driver.get_info(self.instance(server),
                                          use_cache=False).state
            self.assertEqual(driver, found['OS-EXT-STS:power_state'],
                             server['id'])
        return {s['id']: self.api.get_server(s['id'])['status']
                for s in self.servers}


class LiveRestoreOffTest(_EngineRestartTestCase):
    LIVE_RESTORE = False

    def test_engine_restart_stops_servers_and_nova_records_it(self):
        self.restart_engine()
        statuses = self.assert_consistent()
        # The engine stopped every container: Nova shows them SHUTOFF
        # (power_on wires the network again).
        self.assertEqual(['SHUTOFF'] * SERVERS,
                         [statuses[s['id']] for s in self.servers])
        self._start_server(self.servers[0])
        self.assertTrue(self.container(self.servers[0])['State']['Running'])


class LiveRestoreOnTest(_EngineRestartTestCase):
    LIVE_RESTORE = True

    def test_engine_restart_keeps_servers_running(self):
        before = {s['id']: self.container(s)['State']['StartedAt']
                  for s in self.servers}
        self.restart_engine()
        statuses = self.assert_consistent()
        self.assertEqual(['ACTIVE'] * (SERVERS - 1) + ['SHUTOFF'],
                         [statuses[s['id']] for s in self.servers])
        for server in self.servers:
            self.assertEqual(before[server['id']],
                             self.container(server)['State']['StartedAt'])
        self.assertEqual(power_state.RUNNING, self.driver.get_info(
            self.instance(self.servers[0]), use_cache=False).state)
