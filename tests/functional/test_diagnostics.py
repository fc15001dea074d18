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

"""``openstack server show --diagnostics`` (``GET /servers/{id}/
diagnostics``) on a real engine, at microversion 2.48 and before.

The per-NIC counters of a wired server are checked in
test_binding_host.py, which has Neutron ports on Open vSwitch.
"""

from tests.functional import base


class DiagnosticsTest(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        # Nova's 2.48 schema lists only its own drivers as ``driver``; the
        # answer carries null there (and 'docker' as ``hypervisor``), which
        # nova's tests would turn into a 500 (the default is to warn).
        self.flags(response_validation='warn', group='api')

    def test_diagnostics_of_a_running_container(self):
        image = self.create_docker_image()
        flavor = self.create_flavor(memory_mb=96, vcpus=2)
        body = self._build_server(image_uuid=image['id'], flavor_id=flavor,
                                  networks='none')
        body['config_drive'] = True
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')

        # 8 MiB of shared memory are charged to the container.
        ref = self.container(server)['Id']
        exec_id = self.docker.exec_create(
            ref, ['dd', 'if=/dev/zero', 'of=/dev/shm/fill', 'bs=1M',
                  'count=8'])['Id']
        self.docker.exec_start(exec_id)
        self.assertEqual(0, self.docker.exec_inspect(exec_id)['ExitCode'])

        self.api.microversion = '2.48'
        diags = self.api.get_server_diagnostics(server['id'])
        self.assertEqual('running', diags['state'])
        self.assertEqual('docker', diags['hypervisor'])
        self.assertEqual('linux', diags['hypervisor_os'])
        self.assertIsNone(diags['driver'])
        self.assertTrue(diags['config_drive'])
        self.assertGreaterEqual(diags['uptime'], 0)
        self.assertEqual(2, diags['num_cpus'])
        self.assertGreater(diags['cpu_details'][0]['time'], 0)
        self.assertEqual(96, diags['memory_details']['maximum'])
        self.assertGreaterEqual(diags['memory_details']['used'], 8)
        self.assertLessEqual(diags['memory_details']['used'], 96)
        self.assertEqual([], diags['nic_details'])
        self.assertEqual(0, diags['num_nics'])

        self.api.microversion = '2.47'
        legacy = self.api.get_server_diagnostics(server['id'])
        self.assertEqual('running', legacy['state'])
        self.assertEqual('docker', legacy['driver'])
        self.assertEqual(96 * 1024, legacy['memory'])
        self.assertGreater(legacy['cpu_time'], 0)
        self.assertTrue(legacy['config_drive'])
