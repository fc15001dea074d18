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

"""Resume guests on host boot, through nova-compute's own start-up path.

A host reboot leaves every container exited while Nova still records its
servers as running; with ``resume_guests_state_on_host_boot`` the new
nova-compute starts them again (``ComputeManager._init_instance`` calls
the driver's ``resume_state_on_host_boot``).
"""

from unittest import mock

from nova.compute import power_state

from tests.functional import base


class ResumeOnHostBootTest(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        # Nova must not hear of the "reboot" before it restarts.
        self.flags(watch_events=False, group='docker')
        self.flags(resume_guests_state_on_host_boot=True)

    def test_running_server_starts_again_when_compute_starts(self):
        image = self.create_docker_image()
        flavor = self.create_flavor()
        running = self.boot(image['id'], flavor)
        stopped = self._stop_server(self.boot(image['id'], flavor))
        # The host goes down: every container stops.
        self.docker.kill(self.container(running)['Id'])
        self.assertFalse(self.container(running)['State']['Running'])

        # A real nova-compute stopping also shuts its thread pools down for
        # good; this process goes on, so keep them.
        with mock.patch('nova.thread_pool_factory.shutdown_all_executors',
                        autospec=True):
            self.compute = self.restart_compute_service(
                self.compute, keep_hypervisor_state=False)

        self.assertTrue(self.container(running)['State']['Running'])
        server = self.api.get_server(running['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        # A server stopped through Nova stays stopped.
        self.assertFalse(self.container(stopped)['State']['Running'])
        self.assertEqual('SHUTOFF',
                         self.api.get_server(stopped['id'])['status'])
