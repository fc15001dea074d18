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

from nova import test

from novadocker.virt.docker import hostinfo

INFO = {'NCPU': 4, 'MemTotal': 8 * 1024 ** 3, 'Architecture': 'x86_64',
        'DockerRootDir': '/var/lib/docker'}
VERSION = {'Version': '28.2.2', 'ApiVersion': '1.50'}
RATIOS = {'VCPU': 16.0, 'MEMORY_MB': 1.5, 'DISK_GB': 1.0}
RESERVED = {'VCPU': 0, 'MEMORY_MB': 512, 'DISK_GB': 1}


class HostInfoTestCase(test.NoDBTestCase):
    def test_resources_carry_what_nova_requires(self):
        res = hostinfo.resources(INFO, VERSION, (100, 40, 60), 'node1')
        for key in ('vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
                    'memory_mb_used', 'local_gb_used', 'numa_topology',
                    'hypervisor_hostname', 'hypervisor_type',
                    'hypervisor_version', 'supported_instances', 'cpu_info',
                    'disk_available_least', 'stats'):
            self.assertIn(key, res)
        self.assertEqual(4, res['vcpus'])
        self.assertEqual(8192, res['memory_mb'])
        self.assertEqual(100, res['local_gb'])
        self.assertEqual(40, res['local_gb_used'])
        self.assertEqual('docker', res['hypervisor_type'])
        self.assertEqual(28002002, res['hypervisor_version'])
        self.assertEqual('node1', res['hypervisor_hostname'])
        self.assertIn(('x86_64', 'docker', 'exe'), res['supported_instances'])
        self.assertIn('uptime', res['stats'])

    def test_distro_version_suffix(self):
        res = hostinfo.resources(INFO, {'Version': '20.10.24+dfsg1'},
                                 (1, 0, 1), 'n')
        self.assertEqual(20010024, res['hypervisor_version'])

    def test_inventory(self):
        inv = hostinfo.inventory(INFO, (100, 40, 60), RATIOS, RESERVED)
        self.assertEqual(4, inv['VCPU']['total'])
        self.assertEqual(16.0, inv['VCPU']['allocation_ratio'])
        # One instance may have more vCPUs than the host has cores.
        self.assertEqual(64, inv['VCPU']['max_unit'])
        self.assertEqual(8192, inv['MEMORY_MB']['max_unit'])
        self.assertEqual(512, inv['MEMORY_MB']['reserved'])
        self.assertEqual(100, inv['DISK_GB']['total'])

    def test_inventory_leaves_out_empty_classes(self):
        inv = hostinfo.inventory(INFO, (0, 0, 0), RATIOS, RESERVED)
        self.assertNotIn('DISK_GB', inv)

    def test_disk_usage_of_real_path(self):
        total, used, free = hostinfo.disk_usage('/')
        self.assertGreater(total, 0)
        self.assertLessEqual(used + free, total + 1)

    def test_uptime_text(self):
        self.assertIn(' up ', hostinfo.uptime_text())

    def test_cpu_stats_of(self):
        stat = 'cpu  100 5 20 300 7 1 2 0 0 0\ncpu0 1 2 3 4 5 6 7\n'
        info = 'processor\t: 0\ncpu MHz\t\t: 2599.998\n'
        self.assertEqual(
            {'user': 1050000000, 'kernel': 230000000, 'idle': 3000000000,
             'iowait': 70000000, 'frequency': 2599},
            hostinfo.cpu_stats_of(stat, info, 100))

    def test_cpu_stats_of_this_host(self):
        stats = hostinfo.cpu_stats()
        self.assertGreater(stats['idle'] + stats['user'], 0)
        self.assertEqual({'user', 'kernel', 'idle', 'iowait', 'frequency'},
                         set(stats))

    def test_storage_of(self):
        self.assertEqual(('overlay2', 'extfs'), hostinfo.storage_of({
            'Driver': 'overlay2',
            'DriverStatus': [['Backing Filesystem', 'extfs'],
                             ['Supports d_type', 'true']]}))
