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

"""A container stopped outside Nova: Nova hears it from Docker's events."""

from nova.compute import power_state

from tests.functional import base


class ExternalStopTest(base.DockerFunctionalTestCase):

    def test_docker_kill_makes_server_shutoff(self):
        image = self.create_docker_image()
        flavor = self.create_flavor()
        server = self.boot(image['id'], flavor)
        container = self.container(server)
        self.assertTrue(container['State']['Running'])

        self.docker.kill(container['Id'])

        # nova's periodic power sync is off in these services (and its
        # interval is an hour), so only the driver's Docker event watcher
        # can tell Nova; allow it a few seconds.
        server = self.wait_for_status(server, 'SHUTOFF', timeout=15)
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        self.assertIn('VM Stopped (Lifecycle Event)',
                      self.stdlog.logger.output)
        self.assertFalse(self.container(server)['State']['Running'])

        # Started again through Nova, the same container runs.
        server = self._start_server(server)
        info = self.container(server)
        self.assertEqual(container['Id'], info['Id'])
        self.assertTrue(info['State']['Running'])
