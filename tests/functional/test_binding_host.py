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

"""A Docker compute beside another compute on one machine, with one
Neutron agent (``[docker] network_binding_host``), through Nova's real
stack on real OVS (doc/heterogeneous-cloud.rst).

Two compute services run here: the Docker one under its own ``host`` and
a second one (nova's fake driver, standing in for libvirt) under the name
the machine's Neutron agent serves. Every port, the Docker servers' too,
must be bound to that name, and the Docker servers' traffic must flow on
the machine's integration bridge (one of the test's own here, as in
tests/functional/test_networking.py).
"""

import fixtures
from oslo_utils import uuidutils

from tests.functional import base
from tests.functional import test_networking


class BindingHostTest(base.DockerFunctionalTestCase):

    # The wiring helpers of the networking tests (ports on documentation
    # prefixes, an integration bridge in user space).
    _os_vif = test_networking.NetworkingTest._os_vif
    _ovs_bridge = test_networking.NetworkingTest._ovs_bridge
    _documentation_prefixes = \
        test_networking.NetworkingTest._documentation_prefixes
    _port = test_networking.NetworkingTest._port
    _exec = test_networking.NetworkingTest._exec
    _ping = test_networking.NetworkingTest._ping

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch('os.uname',
                                             test_networking.REAL_UNAME))
        self._os_vif()
        self._ovs_bridge()
        self._documentation_prefixes()
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor(memory_mb=64)
        self.flags(response_validation='warn', group='api')
        # The other compute: what the machine's Neutron agent serves.
        self.agent_host = 'kvm-%s' % uuidutils.generate_uuid()[:8]
        self.flags(compute_driver='fake.SmallFakeDriver')
        self._start_compute(self.agent_host)
        self.flags(compute_driver=base.DRIVER)
        self.flags(network_binding_host=self.agent_host, group='docker')

    def _boot_on(self, host, image_id, port_id, name):
        body = self._build_server(name=name, image_uuid=image_id,
                                  flavor_id=self.flavor,
                                  networks=[{'port': port_id}])
        body['host'] = host
        return self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')

    def _binding_host(self, port_id):
        return self.neutron._ports[port_id]['binding:host_id']

    def test_one_agent_serves_both_computes(self):
        ports = [self._port(20), self._port(21), self._port(22)]
        a = self._boot_on(self.host, self.image['id'], ports[0], 'bind-a')
        b = self._boot_on(self.host, self.image['id'], ports[1], 'bind-b')
        # A "VM" from one of nova's own (non-Docker) images.
        vm = self._boot_on(self.agent_host, self.glance.image1['id'],
                           ports[2], 'bind-vm')

        self.assertEqual(self.host, self.api.get_server(a['id'])[
            'OS-EXT-SRV-ATTR:host'])
        self.assertEqual(self.agent_host, self.api.get_server(vm['id'])[
            'OS-EXT-SRV-ATTR:host'])
        self.assertEqual([self.agent_host] * 3,
                         [self._binding_host(p) for p in ports])

        # Traffic flows between the Docker servers on this machine's OVS.
        self.assertEqual(0, self._ping(a, '192.0.2.21'))
        self.assertEqual(0, self._ping(b, '2001:db8::14'))

        # The wired NIC's counters, in the server's diagnostics.
        self.api.microversion = '2.48'
        nics = self.api.get_server_diagnostics(a['id'])['nic_details']
        self.assertEqual(['fa:16:3e:00:01:14'],
                         [n['mac_address'] for n in nics])
        self.assertGreaterEqual(nics[0]['tx_packets'], 1)
        self.assertGreaterEqual(nics[0]['rx_packets'], 1)
        self.assertGreater(nics[0]['rx_octets'], 0)
        self.assertEqual(0, nics[0]['rx_errors'])
        self.api.microversion = '2.74'

        # Unset, the Docker compute binds to its own host again.
        self.flags(network_binding_host=None, group='docker')
        own = self._port(23)
        self._boot_on(self.host, self.image['id'], own, 'bind-c')
        self.assertEqual(self.host, self._binding_host(own))
