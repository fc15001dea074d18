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

"""resize.py: which flavor changes a kept container can take, and the
``docker update`` request that applies one."""

from nova import exception
from nova import objects
from nova import test

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import resize
from tests.unit.virt.docker import docker_http

MIB = 1024 * 1024


def _flavor(specs=None, vcpus=2, memory_mb=256, swap=0, name='f'):
    return objects.Flavor(name=name, vcpus=vcpus, memory_mb=memory_mb,
                          swap=swap, root_gb=1, extra_specs=specs or {})


class ResizeTestCase(test.NoDBTestCase):
    def test_update_body(self):
        self.assertEqual({'Memory': 256 * MIB, 'MemorySwap': 384 * MIB,
                          'NanoCpus': 2 * 10 ** 9, 'CpuShares': 2048,
                          'PidsLimit': 100},
                         resize.update_body(_flavor(swap=128), {}, 100, 4))
        body = resize.update_body(_flavor({'quota:cpu_quota': '30000',
                                           'docker:pids_limit': '7'}),
                                  {'docker_pids_limit': '5'}, 100, 4)
        self.assertNotIn('NanoCpus', body)
        self.assertEqual(30000, body['CpuQuota'])
        self.assertEqual(100000, body['CpuPeriod'])
        self.assertEqual(5, body['PidsLimit'])

    def test_update_body_caps_cpus_at_the_engines(self):
        body = resize.update_body(_flavor(vcpus=8), {}, 100, 2)
        self.assertEqual(2 * 10 ** 9, body['NanoCpus'])
        self.assertEqual(8 * 1024, body['CpuShares'])
        body = resize.update_body(_flavor({'quota:cpu_period': '10000'},
                                          vcpus=8), {}, 100, 2)
        self.assertEqual(20000, body['CpuQuota'])

    def test_limits_may_change(self):
        resize.check_flavors(_flavor(), _flavor(
            {'docker:pids_limit': '9', 'quota:cpu_shares': '10'}, vcpus=4))

    def test_fixed_settings_may_not(self):
        for old, new in (({}, {'docker:read_only_root': 'true'}),
                         ({'docker:cap_add': 'NET_ADMIN'}, {}),
                         ({}, {'quota:cpu_period': '50000'})):
            e = self.assertRaises(exception.InstanceFaultRollback,
                                  resize.check_flavors,
                                  _flavor(old), _flavor(new))
            self.assertIsInstance(e.inner_exception, exception.ResizeError)


class UpdateResourcesTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.http = self.useFixture(docker_http.DockerHTTP())
        self.client = docker_client.DockerClient(docker_http.URL)

    def test_sends_engine_fields(self):
        self.http.on('POST', '/containers/c1/update', json={'Warnings': []})
        self.client.update_resources('c1', {'NanoCpus': 10 ** 9,
                                            'PidsLimit': 64})
        self.assertEqual({'NanoCpus': 10 ** 9, 'PidsLimit': 64},
                         self.http.calls('POST')[0].json())

    def test_errors_are_translated(self):
        self.http.on('POST', '/containers/c1/update', status_code=404,
                     json={'message': 'No such container: c1'})
        self.assertRaises(docker_client.exception.DockerNotFound,
                          self.client.update_resources, 'c1', {})
        self.http.on('POST', '/containers/c2/update', status_code=409,
                     json={'message': 'Conflicting options'})
        self.assertRaises(docker_client.exception.DockerConflict,
                          self.client.update_resources, 'c2', {})
