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

"""A flavor with more vCPUs than the host has cores, through Nova's API.

Nova overcommits CPU (``cpu_allocation_ratio``): Placement offers such a
flavor, the container gets every CPU of the engine, and the flavor counts
in full in Placement.
"""

from tests.functional import base


class OvercommittedCpuTest(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(allow_resize_to_same_host=True)
        # Room in Placement for the old and the new flavor during the
        # resize (2 + 3 times the host's cores).
        self.flags(cpu_allocation_ratio=8.0)

    def _assert_cpus(self, server, vcpus):
        info = self.container(server)
        self.assertEqual(self.ncpu * 10 ** 9, info['HostConfig']['NanoCpus'])
        self.assertEqual(vcpus * 1024, info['HostConfig']['CpuShares'])
        rp = self._get_provider_uuid_by_host(self.host)
        self.assertEqual(vcpus, self._get_provider_usages(rp)['VCPU'])
        return info

    def test_twice_the_hosts_cores_boots_stops_starts_and_resizes(self):
        self.ncpu = self.docker.info()['NCPU']
        image = self.create_docker_image()
        double = self.create_flavor(vcpus=2 * self.ncpu)
        triple = self.create_flavor(vcpus=3 * self.ncpu, memory_mb=160)

        server = self.boot(image['id'], double)
        self.assertEqual(2 * self.ncpu, server['flavor']['vcpus'])
        self.assertTrue(self._assert_cpus(server, 2 * self.ncpu)
                        ['State']['Running'])

        server = self._stop_server(server)
        self.assertFalse(self.container(server)['State']['Running'])
        server = self._start_server(server)
        self.assertTrue(self.container(server)['State']['Running'])

        server = self._resize_server(server, triple)
        server = self._confirm_resize(server)
        info = self._assert_cpus(server, 3 * self.ncpu)
        self.assertEqual(160 * 1024 * 1024, info['HostConfig']['Memory'])
        self.assertTrue(info['State']['Running'])
