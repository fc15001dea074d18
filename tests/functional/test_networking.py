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

"""Servers with Neutron ports through Nova's real stack, on real OVS.

NeutronFixture's ports (binding ``vif_type`` ovs) are moved onto
documentation prefixes and bound with ``datapath_type=netdev`` (OVS runs
in userspace here) to an integration bridge of the test's own (Neutron's
``bridge_name`` binding detail), so that runs on several engines can share
the host's Open vSwitch. Two servers must reach each other through the
interfaces the driver wired.
"""

import copy
import os
import subprocess
import threading

import fixtures
from nova.tests.fixtures import neutron as neutron_fixture
from oslo_utils import uuidutils
import vif_plug_ovs.ovs
import vif_plug_ovs.privsep

from novadocker.virt.docker.network import vifs as host_vifs
from tests.functional import base

OVSDB = 'unix:/var/run/openvswitch/db.sock'
# nova.test forbids os.uname; pyroute2 calls it to open a socket inside a
# network namespace.
REAL_UNAME = os.uname


def _ovs(*args):
    return subprocess.run(('ovs-vsctl', '--timeout=10') + args, check=True,
                          capture_output=True, text=True).stdout.strip()


class OvsPortsMixin(object):
    """Ports on real OVS for a DockerFunctionalTestCase: call
    ``setup_ovs_ports()`` in setUp, then ``_port(index)``.  The ports are
    bound to ``self.bridge``, an integration bridge (``br-int`` on a
    Neutron host) of this test's own, and have new IDs (so new device
    names), so that tests on other engines can run beside them.
    """

    def setup_ovs_ports(self):
        self.useFixture(fixtures.MonkeyPatch('os.uname', REAL_UNAME))
        self._os_vif()
        self._ovs_bridge()
        self._documentation_prefixes()

    def _os_vif(self):
        # As nova.conf would: os-vif's OVS plugin reads its connection
        # when os-vif loads it.
        base.test.CONF.register_opts(vif_plug_ovs.ovs.OvsPlugin.CONFIG_OPTS,
                                     group='os_vif_ovs')
        self.flags(group='os_vif_ovs', ovsdb_connection=OVSDB)
        host_vifs._initialize_os_vif()
        # os-vif's own privileged steps (the port's MTU) run in-process too,
        # as base does for ours.
        self.useFixture(fixtures.MockPatchObject(
            vif_plug_ovs.privsep.vif_plug, 'client_mode', False))

    def _ovs_bridge(self):
        self.bridge = 'ndfn%s' % uuidutils.generate_uuid()[:8]
        _ovs('add-br', self.bridge, '--', 'set', 'bridge', self.bridge,
             'datapath_type=netdev')
        self.addCleanup(_ovs, '--if-exists', 'del-br', self.bridge)

    def _documentation_prefixes(self):
        neutron = self.neutron
        # NeutronFixture's first new port is its port_2, whose fixed ID
        # would name the same tap device in every run.
        neutron.default_port = dict(copy.deepcopy(neutron_fixture.
                                                  NeutronFixture.port_2),
                                    id=uuidutils.generate_uuid())
        net = copy.deepcopy(neutron.network_1)
        net['mtu'] = 1400
        neutron._networks[net['id']] = net
        v4 = copy.deepcopy(neutron.subnet_1)
        v4.update(cidr='192.0.2.0/24', gateway_ip='192.0.2.1',
                  dns_nameservers=['192.0.2.53'],
                  allocation_pools=[{'start': '192.0.2.2',
                                     'end': '192.0.2.254'}])
        v6 = copy.deepcopy(neutron.subnet_ipv6_1)
        v6.update(cidr='2001:db8::/64', gateway_ip='2001:db8::1',
                  allocation_pools=[{'start': '2001:db8::2',
                                     'end': '2001:db8::ffff'}])
        neutron._subnets[v4['id']] = v4
        neutron._subnets[v6['id']] = v6
        self.subnet4, self.subnet6 = v4, v6

    def _port(self, index, status='ACTIVE'):
        """A port on network_1 with 192.0.2.<index> and 2001:db8::<index>."""
        port_id = self.neutron.create_port()['port']['id']
        port = self.neutron._ports[port_id]
        port.update({
            'mac_address': 'fa:16:3e:00:01:%02x' % index,
            'fixed_ips': [
                {'ip_address': '192.0.2.%d' % index,
                 'subnet_id': self.subnet4['id']},
                {'ip_address': '2001:db8::%x' % index,
                 'subnet_id': self.subnet6['id']}],
            'binding:vif_type': 'ovs',
            'binding:vif_details': {'port_filter': True,
                                    'datapath_type': 'netdev',
                                    'bridge_name': self.bridge},
            'status': status,
        })
        return port_id


class NetworkingTest(OvsPortsMixin, base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=tmp)
        self.setup_ovs_ports()
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor(memory_mb=64)

    def _boot_with_port(self, port_id, name):
        body = self._build_server(name=name, image_uuid=self.image['id'],
                                  flavor_id=self.flavor,
                                  networks=[{'port': port_id}])
        return self.api.post_server({'server': body})

    def _exec(self, server, *cmd):
        name = 'nova-%s' % server['id']
        exec_id = self.docker.exec_create(name, list(cmd))['Id']
        output = self.docker.exec_start(exec_id).decode()
        return self.docker.exec_inspect(exec_id)['ExitCode'], output

    def _ping(self, server, address):
        ping = 'ping6' if ':' in address else 'ping'
        return self._exec(server, ping, '-c', '1', '-W', '3', address)[0]

    def test_servers_go_active_and_reach_each_other(self):
        a = self._wait_for_state_change(
            self._boot_with_port(self._port(10), 'net-a'), 'ACTIVE')
        b = self._wait_for_state_change(
            self._boot_with_port(self._port(11), 'net-b'), 'ACTIVE')

        self.assertEqual(0, self._ping(a, '192.0.2.11'))
        self.assertEqual(0, self._ping(b, '2001:db8::a'))
        code, out = self._exec(a, 'ip', 'addr', 'show', 'eth0')
        self.assertIn('192.0.2.10/24', out)
        self.assertIn('mtu 1400', out)
        code, out = self._exec(a, 'cat', '/etc/resolv.conf')
        self.assertIn('nameserver 192.0.2.53', out)
        self.assertEqual(sorted([a['id'], b['id']]),
                         sorted(self.driver.list_instance_uuids()))

        self._delete_server(a)
        self._delete_server(b)
        self.assertEqual('', '\n'.join(
            p for p in _ovs('list-ports', self.bridge).split()
            if p.startswith('tap') and p[3:] in (a['id'], b['id'])))
        self.assertIsNone(self.container(a))
        self.assertEqual([], self.docker.containers(
            all=True, filters={'name': 'nova-%s-net' % a['id']}))

    def test_boot_waits_for_network_vif_plugged(self):
        self.flags(vif_plugging_timeout=60, vif_plugging_is_fatal=True)
        port_id = self._port(20, status='DOWN')
        events = self.compute.manager.instance_events
        posted = {}

        def post_when_waiting():
            base.wait_for(lambda: events._events, 60,
                          what='the compute to wait for vif-plugged')
            server_id = next(iter(events._events))
            posted['server'] = server_id
            self.api.api_post('/os-server-external-events', {'events': [{
                'name': 'network-vif-plugged', 'server_uuid': server_id,
                'tag': port_id, 'status': 'completed'}]})

        poster = threading.Thread(target=post_when_waiting, daemon=True)
        poster.start()
        server = self._boot_with_port(port_id, 'waits')
        server = self._wait_for_state_change(server, 'ACTIVE')
        poster.join(30)
        self.assertEqual(server['id'], posted['server'])
        code, out = self._exec(server, 'ip', 'addr', 'show', 'eth0')
        self.assertIn('192.0.2.20/24', out)
        self._delete_server(server)
