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


"""Servers booted, stopped, started and deleted many at once through
nova's REST API, on native threads, with ports on real OVS (issue #15
"Load", issue #18 "Density" at CI size; the full sizes are
benchmarks/bench_api_load.py).
"""

from tests.functional import base
from tests.functional import load

#: Seconds for a group of servers to change state (a busy CI machine).
WAIT = 180
# Churn cycles measured, and how many descriptors may come and go
# between two measurements (fewer than the cycles).
CYCLES = 12
FD_JITTER = 4


class LoadTest(load.LoadMixin, base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.setup_load_ports()
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor(memory_mb=64)
        self.children = load.children()
        self.ports = []
        self.servers = []

    def _bodies(self, count, ported):
        """``count`` server bodies, the first ``ported`` with a port."""
        bodies = []
        for i in range(count):
            port_id = None
            if i < ported:
                port_id = self.load_port(len(self.ports))
                self.ports.append(port_id)
            bodies.append(self.server_body(
                self.image['id'], self.flavor,
                'load-%d' % (len(self.servers) + i), port_id))
        return bodies

    def _boot(self, count, ported):
        ids = self.boot_all(self._bodies(count, ported), WAIT)
        self.servers += ids
        return ids

    def _cycle(self, alive):
        """Delete the oldest of ``alive`` while one more boots."""
        body = self._bodies(1, ported=1)[0]
        server_id = self.post_all([body])[0]['id']
        self.servers.append(server_id)
        self.api.delete_server(alive[0])
        self.wait_all([server_id], 'ACTIVE', WAIT)
        self.wait_all(alive[:1], None, WAIT)
        return alive[1:] + [server_id]

    def _running(self, ids):
        return [i for i in ids if self.container(i)['State']['Running']]

    def _assert_nothing_left(self):
        self.assertEqual([], self.leftovers(self.servers, self.ports,
                                            self.children))

    def test_boot_and_delete_at_once_with_ports_then_churn(self):
        ids = self._boot(6, ported=6)
        self.assertEqual(sorted(ids), sorted(self._running(ids)))
        self.assertEqual(6, len([p for p in self.ovs_ports()
                                 if p.startswith('tap')]))
        self.delete_all(ids, WAIT)
        self._assert_nothing_left()

        # Churn: each cycle deletes the oldest server while booting one.
        alive = self._boot(3, ported=2)
        for _ in range(3):      # warm-up
            alive = self._cycle(alive)
        before = load.process()
        for _ in range(CYCLES):
            alive = self._cycle(alive)
        after = load.process()
        self.delete_all(alive, WAIT)
        self._assert_nothing_left()
        # A descriptor kept per cycle would add CYCLES; the pooled HTTP
        # connections to the engine and Glance come and go with the load
        # on the machine, up to the pools' sizes (FD_JITTER).
        self.assertLessEqual(after['fds'], before['fds'] + FD_JITTER)
        # Nova's thread pools (futurist) add a worker per task until they
        # reach their size; no other thread may be added.
        self.assertLessEqual(after['other_threads'], before['other_threads'])

    def test_density_paths_stop_start_and_periodic_pass(self):
        self._boot(3, ported=2)
        at_3 = self.periodic_pass()
        self._boot(7, ported=3)
        at_10 = self.periodic_pass()
        # The pass lists the host's containers once, whatever their count.
        self.assertEqual(at_3.calls, at_10.calls)
        self.assertEqual(len(self.servers), len(self._running(self.servers)))

        self.action_all(self.servers, 'os-stop', 'SHUTOFF', WAIT)
        self.assertEqual([], self._running(self.servers))
        self.action_all(self.servers, 'os-start', 'ACTIVE', WAIT)
        self.assertEqual(sorted(self.servers),
                         sorted(self._running(self.servers)))

        self.delete_all(self.servers, WAIT)
        self._assert_nothing_left()
