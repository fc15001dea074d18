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

import datetime
from unittest import mock

from nova.compute import power_state
from nova import test

from novadocker.virt.docker import diagnostics

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
INFO = {
    'Id': 'c1',
    'State': {'Status': 'running', 'Running': True, 'Pid': 42,
              'StartedAt': '2026-01-02T03:03:05.123456789Z'},
    'Mounts': [{'Destination': '/config-drive'}],
}
STATS = {
    'cpu_stats': {'cpu_usage': {'total_usage': 1500000000}},
    'memory_stats': {'usage': 50 * diagnostics.MiB,
                     'limit': 128 * diagnostics.MiB,
                     'stats': {'inactive_file': 10 * diagnostics.MiB}},
}
LINK = {'name': 'eth0', 'address': 'fa:16:3e:00:00:01',
        'rx_bytes': 100, 'rx_packets': 2, 'rx_errors': 0, 'rx_dropped': 1,
        'tx_bytes': 200, 'tx_packets': 3, 'tx_errors': 4, 'tx_dropped': 5}


class TranslatorTestCase(test.NoDBTestCase):
    def test_instance_diagnostics(self):
        d = diagnostics.instance_diagnostics(INFO, STATS, [LINK], 2,
                                             '/config-drive', now=NOW)
        self.assertEqual('running', d.state)
        self.assertEqual('docker', d.hypervisor)
        self.assertFalse(d.obj_attr_is_set('driver'))
        self.assertEqual(59, d.uptime)     # 59.88 s
        self.assertTrue(d.config_drive)
        self.assertEqual(2, d.num_cpus)
        self.assertEqual(1500000000, d.cpu_details[0].time)
        self.assertEqual((128, 40), (d.memory_details.maximum,
                                     d.memory_details.used))
        nic = d.nic_details[0]
        self.assertEqual(('fa:16:3e:00:00:01', 100, 2, 1, 200, 3, 4, 5),
                         (nic.mac_address, nic.rx_octets, nic.rx_packets,
                          nic.rx_drop, nic.tx_octets, nic.tx_packets,
                          nic.tx_errors, nic.tx_drop))
        self.assertEqual(1, d.num_nics)
        self.assertEqual(0, d.num_disks)

    def test_stopped_container(self):
        info = {'State': {'Status': 'exited', 'Running': False,
                          'ExitCode': 0, 'StartedAt': INFO['State'][
                              'StartedAt']}, 'Mounts': []}
        d = diagnostics.instance_diagnostics(info, {}, [], 1,
                                             '/config-drive', now=NOW)
        self.assertEqual('shutdown', d.state)
        self.assertIsNone(d.uptime)
        self.assertFalse(d.config_drive)
        self.assertIsNone(d.memory_details.used)

    def test_cgroup_v1_cache(self):
        stats = {'memory_stats': {'usage': 30, 'limit': 100,
                                  'stats': {'total_inactive_file': 10}}}
        self.assertEqual((100, 20), diagnostics.memory(stats))

    def test_legacy(self):
        d = diagnostics.legacy(INFO, STATS, [LINK], 2, '/config-drive',
                               now=NOW)
        self.assertEqual('docker', d['driver'])
        self.assertEqual('running', d['state'])
        self.assertEqual(128 * 1024, d['memory'])
        self.assertEqual(40 * 1024, d['memory-used'])
        self.assertEqual(100, d['eth0_rx'])
        self.assertEqual(5, d['eth0_tx_drop'])
        self.assertEqual(3, d['eth0_tx_packets'])

    def test_volumes_are_disks(self):
        stats = dict(STATS, blkio_stats={
            'io_service_bytes_recursive': [
                {'major': 7, 'minor': 3, 'op': 'read', 'value': 10},
                {'major': 7, 'minor': 3, 'op': 'write', 'value': 20},
                {'major': 8, 'minor': 0, 'op': 'write', 'value': 99}],
            'io_serviced_recursive': [
                {'major': 7, 'minor': 3, 'op': 'Read', 'value': 1},
                {'major': 7, 'minor': 3, 'op': 'Write', 'value': 2}]})
        volumes = {'vdb': (7, 3), 'vdc': (7, 4)}
        d = diagnostics.instance_diagnostics(INFO, stats, [], 1, '/x',
                                             volumes, now=NOW)
        self.assertEqual(2, d.num_disks)
        vdb, vdc = d.disk_details
        self.assertEqual((10, 1, 20, 2), (vdb.read_bytes, vdb.read_requests,
                                          vdb.write_bytes,
                                          vdb.write_requests))
        self.assertEqual((0, 0), (vdc.read_bytes, vdc.write_bytes))
        legacy = diagnostics.legacy(INFO, stats, [], 1, '/x', volumes,
                                    now=NOW)
        self.assertEqual((10, 1, 20, 2), (
            legacy['vdb_read'], legacy['vdb_read_req'],
            legacy['vdb_write'], legacy['vdb_write_req']))


class DiagnosticsTestCase(test.NoDBTestCase):
    def test_one_inspect_one_stats_one_namespace_read(self):
        client = mock.Mock()
        client.stats.return_value = STATS
        containers = mock.Mock()
        containers.inspect.return_value = INFO
        instance = mock.Mock(uuid='u1')
        instance.flavor.vcpus = 1
        with mock.patch('novadocker.privsep.linux_net.link_stats',
                        return_value=[LINK], autospec=True) as links, \
                mock.patch('os.path.lexists', return_value=True,
                           autospec=True):
            d = diagnostics.Diagnostics(client, containers,
                                        '/config-drive').instance(instance)
        containers.inspect.assert_called_once_with(instance)
        client.stats.assert_called_once_with('c1')
        links.assert_called_once_with('/var/run/netns/nova-u1')
        self.assertEqual(power_state.STATE_MAP[power_state.RUNNING],
                         d.state)

    def test_no_sandbox_no_links(self):
        client = mock.Mock()
        client.stats.return_value = STATS
        containers = mock.Mock()
        containers.inspect.return_value = INFO
        instance = mock.Mock(uuid='no-such-sandbox')
        instance.flavor.vcpus = 1
        with mock.patch('novadocker.privsep.linux_net.link_stats',
                        autospec=True) as links:
            d = diagnostics.Diagnostics(client, containers,
                                        '/x').instance(instance)
        links.assert_not_called()
        self.assertEqual(0, d.num_nics)

    def test_not_running_reads_no_namespace(self):
        containers = mock.Mock()
        containers.inspect.return_value = {
            'Id': 'c1', 'State': {'Status': 'exited', 'Running': False,
                                  'Pid': 0}}
        instance = mock.Mock()
        instance.flavor.vcpus = 1
        client = mock.Mock()
        client.stats.return_value = {}
        with mock.patch('novadocker.privsep.linux_net.link_stats',
                        autospec=True) as links:
            d = diagnostics.Diagnostics(client, containers,
                                        '/x').legacy(instance)
        links.assert_not_called()
        self.assertEqual('docker', d['driver'])
