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

"""Restarts under servers with ports (doc/reliability.rst, "Restarts"):
the Docker engine (``live-restore`` off and on), nova-compute, and a
simulated host reboot, through Nova's own paths.

Each test runs its own dockerd (tests.engines.RestartableEngine) and its
own OVS bridge, and boots ``SERVERS`` servers through Nova's API, each
with a port on that bridge and a shell on its serial console; the first
one has a Cinder volume (a loop device), the last one is stopped by its
user. A server is *serviceable* when the API shows it ACTIVE, its power
state in Nova is the driver's, it pings the next running server over
the wired network, and (the first two) its serial console answers
through nova's serial proxy, its console log reaches the API, and the
volume holds what was written before. benchmarks/bench_restarts.py runs
the same at full size.
"""

import os
import re
import time
from unittest import mock

from nova.compute import power_state

from tests.functional import restart_support
from tests.functional import test_console
from tests.functional import test_volumes

SERVERS = int(os.environ.get('NOVADOCKER_RESTART_SERVERS', '3'))
# The serial console answers in upper case what it is sent; the main
# process stops at once on SIGTERM. (A background job's stdin would be
# /dev/null: it reads the console through fd 3.)
CONSOLE_COMMAND = ('sh -c \'exec 3<&0; trap "exit 0" TERM; '
                   'tr a-z A-Z <&3 & wait\'')
# Seconds any one wait may take.
BOUND = 300


class _RestartsTestCase(restart_support.PrivateEngineMixin,
                        restart_support.UniqueBridgePorts,
                        test_volumes._VolumeBase):
    # The power sync casts stops while it holds the instance's lock.
    CAST_AS_CALL = False

    def configure(self, docker_url):
        super().configure(docker_url)
        # Room for the full size (benchmarks/bench_restarts.py).
        self.flags(cpu_allocation_ratio=64.0, ram_allocation_ratio=64.0,
                   disk_allocation_ratio=64.0)
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')

    def setUp(self):
        super().setUp()
        self.setup_ovs_ports()
        self.console_proxy = self.useFixture(test_console.SerialProxy())
        ports = test_console.free_port_range(4 * SERVERS + 8)
        self.flags(enabled=True,
                   proxyclient_address=test_console.PROXY_HOST,
                   port_range='%d:%d' % ports,
                   base_url='ws://%s:%d/' % (test_console.PROXY_HOST,
                                             self.console_proxy.port),
                   group='serial_console')
        image = self.create_docker_image(command=CONSOLE_COMMAND,
                                         docker_tty='true')
        flavor = self._create_flavor(memory_mb=32, vcpu=1, disk=1,
                                     ephemeral=0)
        self.servers = self.boot_all(image['id'], flavor)
        self.volume_id, _device = self.volume(size_mb=16)
        self.volume_path = self.attach(self.servers[0], self.volume_id,
                                       tag='data')
        # The attach runs on (casts are casts here).
        self.wait_for(lambda: self.volume_path in self.mounts(
            self.servers[0]), timeout=BOUND, what='the volume mounted')
        self.ok(self.servers[0], 'sh', '-c',
                'echo kept > %s/file' % self.volume_path)
        self.servers[-1] = self._stop_server(self.servers[-1])
        self.running = self.servers[:-1]

    def boot_all(self, image_id, flavor):
        # One after the other: nova's in-process cell database fixture
        # deadlocks when builds run in parallel on native threads.
        return [self._wait_for_state_change(
            self.boot_with_port(image_id, flavor, self._port(10 + i),
                                name='rs-%d' % i), 'ACTIVE',
            max_retries=BOUND) for i in range(SERVERS)]

    # What a user sees

    def address(self, server):
        return '192.0.2.%d' % (10 + self.servers.index(
            next(s for s in self.servers if s['id'] == server['id'])))

    def exec_ok(self, server, *cmd):
        code, out = restart_support.exec_in(
            self.docker, 'nova-%s' % server['id'], *cmd)
        self.assertEqual(0, code, out)
        return out

    def pings(self, server, peer):
        return 0 == restart_support.ping(self.docker, 'nova-%s' % server['id'],
                                         self.address(peer))

    def console_answers(self, server, marker):
        """The serial console (nova's proxy) runs a command, and the
        console log through the API shows its output.
        """
        body = self.api.api_post(
            '/servers/%s/remote-consoles' % server['id'],
            {'remote_console': {'protocol': 'serial',
                                'type': 'serial'}}).body
        term = test_console.Terminal(body['remote_console']['url'])
        try:
            term.send(b'%s\n' % marker.encode())
            term.read_until(re.compile(re.escape(marker.upper().encode())))
        finally:
            term.close()
        output = self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']
        self.assertIn(marker.upper(), output)

    def serviceable(self, marker):
        """Every running server is ACTIVE and pings the next one; the
        first two answer on their consoles, the first reads its volume.
        """
        for i, server in enumerate(self.running):
            self.assertEqual('ACTIVE', self.status(server)[0])
            peer = self.running[(i + 1) % len(self.running)]
            self.assertTrue(self.pings(server, peer),
                            '%s does not reach %s' % (server['id'],
                                                      peer['id']))
        for server in self.running[:2]:
            self.console_answers(server, 'restarted-%s' % marker)
        self.assertEqual('kept\n', self.exec_ok(
            self.servers[0], 'cat', self.volume_path + '/file'))

    # What the host shows

    def status(self, server):
        found = self.api.get_server(server['id'])
        return found['status'], found['OS-EXT-STS:power_state']

    def containers(self):
        """{server id: (container id, StartedAt, Running)}."""
        found = {}
        for server in self.servers:
            state = self.container(server)
            found[server['id']] = (state['Id'], state['State']['StartedAt'],
                                   state['State']['Running'])
        return found

    def assert_consistent(self):
        """Every power state in Nova is the driver's; each server has one
        container, no more (no helper container either).
        """
        for server in self.servers:
            driver = self.driver.get_info(self.instance(server),
                                          use_cache=False).state
            self.assertEqual(driver, self.status(server)[1], server['id'])
        names = sorted(n for c in self.docker.containers(all=True)
                       for n in c['Names'])
        expected = sorted('/nova-%s' % s['id'] for s in self.servers)
        self.assertEqual(expected, names)

    def settle(self):
        for server in self.servers:
            self.wait_for(lambda: self.api.get_server(server['id'])[
                'OS-EXT-STS:task_state'] is None, timeout=BOUND,
                what='server %s to settle' % server['id'])

    def restart_engine(self, what):
        """Restart the engine, then run Nova's power sync."""
        self.engine_stop_start(what)
        self.compute.manager._sync_power_states(self.ctxt)
        self.settle()

    def restart_compute(self, while_down=None):
        """Stop nova-compute, run ``while_down()``, start a new one (as
        nova's restart_compute_service does, with a new driver).
        """
        # A real nova-compute stopping also shuts its thread pools down
        # for good; this process goes on, so keep them.
        with mock.patch('nova.thread_pool_factory.shutdown_all_executors',
                        autospec=True):
            self.compute.stop()
        if while_down:
            while_down()
        cell = self.host_mappings[self.compute.host].cell_mapping.name
        self.compute = self.start_service('compute', host=self.host,
                                          cell_name=cell)
        self.settle()

    def engine_stop_start(self, what):
        """The engine's own restart (raw Docker), timed."""
        start = time.monotonic()
        self.engine.stop()
        self.engine.start()
        print('\nengine stop+start, %s, %d servers: %.1f s'
              % (what, SERVERS, time.monotonic() - start))


def report(what, seconds):
    print('\ntime to serviceable, %s, %d servers with ports: %.1f s'
          % (what, SERVERS, seconds))


class LiveRestoreOffTest(_RestartsTestCase):
    LIVE_RESTORE = False

    def test_engine_restart_then_host_reboot(self):
        start = time.monotonic()
        self.restart_engine('live-restore off')
        # The engine stopped every container: Nova records it (SHUTOFF).
        self.assert_consistent()
        self.assertEqual([('SHUTOFF', power_state.SHUTDOWN)] * SERVERS,
                         [self.status(s) for s in self.servers])
        # Started again, each is wired again (power_on).
        for server in self.running:
            self.api.post_server_action(server['id'], {'os-start': None})
        for server in self.running:
            self.wait_for_status(server, 'ACTIVE', timeout=BOUND)
        self.serviceable('off')
        report('engine restart, live-restore off', time.monotonic() - start)
        self.assert_consistent()
        self.assertEqual('SHUTOFF', self.status(self.servers[-1])[0])
        self.host_reboot()

    def host_reboot(self):
        """nova-compute stops, every container stops with the engine
        (live-restore is off), the engine starts again, and nova-compute
        starts with resume_guests_state_on_host_boot: through init_host
        (resume_state_on_host_boot), exactly the servers that ran run
        again, in the same containers; the stopped one stays stopped.
        """
        self.flags(resume_guests_state_on_host_boot=True)
        before = self.containers()
        start = time.monotonic()
        # The volume stays mounted on the host (a rebooted host's
        # nova-compute would mount it again).
        self.restart_compute(
            lambda: self.engine_stop_start('host reboot'))
        after = self.containers()
        for server in self.running:
            cid, started, running = after[server['id']]
            self.assertEqual(before[server['id']][0], cid)
            self.assertTrue(running, server['id'])
            self.assertNotEqual(before[server['id']][1], started)
        stopped = self.servers[-1]['id']
        self.assertEqual(before[stopped], after[stopped])
        self.assertEqual([('ACTIVE', power_state.RUNNING)] * (SERVERS - 1) +
                         [('SHUTOFF', power_state.SHUTDOWN)],
                         [self.status(s) for s in self.servers])
        self.assert_consistent()
        self.serviceable('boot')
        report('host reboot', time.monotonic() - start)


class LiveRestoreOnTest(_RestartsTestCase):
    LIVE_RESTORE = True

    def test_compute_restart_then_engine_restart(self):
        containers = self.containers()
        ports = self.ovs_ports()
        statuses = [self.status(s) for s in self.servers]
        start = time.monotonic()
        self.restart_compute()
        # Nothing stopped, restarted or re-plugged.
        self.assertEqual(containers, self.containers())
        self.assertEqual(ports, self.ovs_ports())
        self.assertEqual(statuses, [self.status(s) for s in self.servers])
        self.serviceable('compute')
        report('nova-compute restart', time.monotonic() - start)

        start = time.monotonic()
        self.restart_engine('live-restore on')
        # Every container kept running, in the same network.
        self.assertEqual(containers, self.containers())
        self.assertEqual(ports, self.ovs_ports())
        self.assert_consistent()
        self.assertEqual(statuses, [self.status(s) for s in self.servers])
        self.serviceable('on')
        report('engine restart, live-restore on', time.monotonic() - start)
