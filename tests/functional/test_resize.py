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

"""Resize on the same host: the container keeps its file system and gets
the new flavor's CPU and memory limits (the old ones again on revert)."""

from tests.functional import base

MIB = 1024 * 1024


class _ResizeBase(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)
        self.image = self.create_docker_image()
        self.small = self.create_flavor(memory_mb=128, vcpus=1)
        self.big = self.create_flavor(memory_mb=320, vcpus=2)

    def _exec(self, server, *cmd):
        exec_id = self.docker.exec_create(self.container(server)['Id'],
                                          list(cmd))['Id']
        output = self.docker.exec_start(exec_id)
        self.assertEqual(0, self.docker.exec_inspect(exec_id)['ExitCode'],
                         output)
        return output

    def _assert_limits(self, server, memory_mb, vcpus):
        info = self.container(server)
        hc = info['HostConfig']
        self.assertEqual(memory_mb * MIB, hc['Memory'])
        self.assertEqual(memory_mb * MIB, hc['MemorySwap'])
        self.assertEqual(vcpus * 10 ** 9, hc['NanoCpus'])
        self.assertEqual(vcpus * 1024, hc['CpuShares'])
        self.assertTrue(info['State']['Running'])
        return info

    def _boot_with_marker(self):
        server = self.boot(self.image['id'], self.small)
        self._exec(server, 'touch', '/root/marker-before-resize')
        return server, self.container(server)['Id']

    def _assert_marker(self, server, container_id):
        self.assertEqual(container_id, self.container(server)['Id'])
        self._exec(server, 'ls', '/root/marker-before-resize')


class ResizeTest(_ResizeBase):

    def test_resize_and_confirm(self):
        server, cid = self._boot_with_marker()
        self._assert_limits(server, 128, 1)

        server = self._resize_server(server, self.big)
        self.assertEqual(self.host, server['OS-EXT-SRV-ATTR:host'])
        self._assert_limits(server, 320, 2)
        self._assert_marker(server, cid)

        server = self._confirm_resize(server)
        self._assert_limits(server, 320, 2)
        self._assert_marker(server, cid)
        self.assertEqual('2', str(server['flavor']['vcpus']))
        # Placement holds the new flavor only.
        rp = self._get_provider_uuid_by_host(self.host)
        usages = self._get_provider_usages(rp)
        self.assertEqual(320, usages['MEMORY_MB'])
        self.assertEqual(2, usages['VCPU'])

    def test_resize_and_revert(self):
        server, cid = self._boot_with_marker()
        server = self._resize_server(server, self.big)
        self._assert_limits(server, 320, 2)

        server = self._revert_resize(server)
        self._assert_limits(server, 128, 1)
        self._assert_marker(server, cid)
        self.assertEqual(1, server['flavor']['vcpus'])

    def test_resize_of_stopped_server_stays_stopped(self):
        server, cid = self._boot_with_marker()
        server = self._stop_server(server)
        self.api.post_server_action(
            server['id'], {'resize': {'flavorRef': self.big}})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        info = self.container(server)
        self.assertFalse(info['State']['Running'])
        self.assertEqual(320 * MIB, info['HostConfig']['Memory'])
        self.api.post_server_action(server['id'], {'confirmResize': None})
        server = self._wait_for_state_change(server, 'SHUTOFF')
        self._wait_for_migration_status(server, ['confirmed'])
        self.assertFalse(self.container(server)['State']['Running'])


class RefusedResizeTest(_ResizeBase):
    # Real casts: prep_resize does not see resize_instance's failure, as
    # in a real cloud.
    CAST_AS_CALL = False

    def test_resize_changing_fixed_settings_is_refused(self):
        ro = self._create_flavor(memory_mb=256, vcpu=1, disk=1,
                                 extra_spec={'docker:read_only_root': 'true'})
        server, cid = self._boot_with_marker()
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': ro}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_migration_status(server, ['error'])
        self._assert_limits(server, 128, 1)
        self._assert_marker(server, cid)
        self.assertEqual(128, server['flavor']['ram'])
        fault = self.instance(server).fault
        self.assertIn('docker:read_only_root', fault.message)
