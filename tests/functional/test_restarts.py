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

"""nova-compute restarts and a simulated host reboot, through Nova's own
``init_host`` path (doc/reliability.rst).

A nova-compute restart must leave every container alone: same
container, not restarted, power states unchanged. After a host reboot
(every container stopped, as a rebooted host has them) a nova-compute
started with ``resume_guests_state_on_host_boot = True`` brings back
exactly the servers that were running; stopped ones stay stopped.
"""

from unittest import mock

from tests.functional import base

SERVERS = 3


class RestartsTest(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(cpu_allocation_ratio=16.0)

    def setUp(self):
        super().setUp()
        image = self.create_docker_image()['id']
        flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                     ephemeral=0)
        self.servers = [self.boot(image, flavor) for _ in range(SERVERS)]
        # The last one is stopped by its user.
        self.stopped = self._stop_server(self.servers[-1])

    def _containers(self):
        """{server id: (container id, StartedAt, Running)}"""
        found = {}
        for server in self.servers:
            state = self.container(server)
            found[server['id']] = (state['Id'], state['State']['StartedAt'],
                                   state['State']['Running'])
        return found

    def _statuses(self):
        return {s['id']: (self.api.get_server(s['id'])['status'],
                          self.api.get_server(s['id'])[
                              'OS-EXT-STS:power_state'])
                for s in self.servers}

    def _restart_compute(self, while_down=None):
        """Stop nova-compute, run ``while_down()``, start a new one (as
        nova's restart_compute_service does, with a new driver).
        """
        # A real nova-compute stopping also shuts its thread pools down for
        # good; this process goes on, so keep them.
        with mock.patch('nova.thread_pool_factory.shutdown_all_executors',
                        autospec=True):
            self.compute.stop()
        if while_down:
            while_down()
        cell = self.host_mappings[self.compute.host].cell_mapping.name
        self.compute = self.start_service('compute', host=self.host,
                                          cell_name=cell)

    def test_compute_restart_touches_nothing(self):
        containers, statuses = self._containers(), self._statuses()
        self._restart_compute()
        self.assertEqual(containers, self._containers())
        self.assertEqual(statuses, self._statuses())
        self.assertEqual(['ACTIVE'] * (SERVERS - 1) + ['SHUTOFF'],
                         [statuses[s['id']][0] for s in self.servers])

    def test_host_reboot_resumes_exactly_the_running_servers(self):
        self.flags(resume_guests_state_on_host_boot=True)
        before = self._containers()

        def host_goes_down():
            # Every container stops with it.
            for server in self.servers[:-1]:
                self.docker.stop(self.container(server)['Id'], timeout=0)
        self._restart_compute(host_goes_down)
        after = self._containers()
        for server in self.servers[:-1]:
            cid, started, running = after[server['id']]
            self.assertEqual(before[server['id']][0], cid)
            self.assertTrue(running, server['id'])
            self.assertNotEqual(before[server['id']][1], started)
        self.assertEqual(before[self.stopped['id']],
                         after[self.stopped['id']])
        self.assertFalse(after[self.stopped['id']][2])
        self.assertEqual(['ACTIVE'] * (SERVERS - 1) + ['SHUTOFF'],
                         [self._statuses()[s['id']][0]
                          for s in self.servers])
