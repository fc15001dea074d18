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

"""A server with a Cinder volume moves between two Docker hosts, through
Nova's REST API: the volume's data comes along, and its file system is
the one it had (never formatted again).

The volume is a loop device (test_volumes' Cinder fixture) that both
in-process hosts see, as compute hosts see a SAN's volumes.
"""

import fixtures

from novadocker.privsep import storage
from tests.functional import base
from tests.functional import multihost
from tests.functional import test_moves
from tests.functional import test_volumes

tearDownModule = multihost.remove_engines
DATA = '/volumes/data'


class VolumeMovesTest(test_moves._MovesBase):

    def setUp(self):
        test_volumes.use_real_block_devices(self)
        super().setUp()
        self.cinder = self.useFixture(test_volumes.LoopCinderFixture(self))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # Never formatted after the first attach (the test fails if it is).
        self.formatted = []
        real = storage.format_blank
        self.useFixture(fixtures.MockPatchObject(
            storage, 'format_blank',
            side_effect=lambda dev: self.formatted.append(dev) or real(dev)))

    def _server_with_volume(self, index):
        device = self.useFixture(test_volumes._Loop(self.tmp, 64)).device
        vol_id = self.cinder.add(device)
        server = self.boot_with_marker(index)
        self.api.post_server_volume(server['id'], {'volumeAttachment': {
            'volumeId': vol_id, 'tag': 'data'}})
        base.wait_for(lambda: [vol_id] == [
            a['volumeId'] for a in self.api.get_server_volumes(server['id'])],
            60, what='the volume attached')
        self.exec_on(self.src, server, 'sh', '-c',
                     'echo kept > %s/file' % DATA)
        self.assertEqual(1, len(self.formatted))
        return server, self._fs_uuid(device), device

    @staticmethod
    def _fs_uuid(device):
        return storage.probe(device).get('UUID')

    def _assert_volume(self, host, server, fs_uuid, device):
        self.assertEqual('kept\n', self.exec_on(host, server, 'cat',
                                                DATA + '/file'))
        self.assertEqual(fs_uuid, self._fs_uuid(device))
        self.assertEqual(1, len(self.formatted))

    def test_migrate_and_confirm(self):
        server, fs_uuid, device = self._server_with_volume(60)
        server = self.resize_away(server)
        self._assert_volume(self.dst, server, fs_uuid, device)
        server = self._confirm_resize(server)
        self.wait_clean(self.src, server)
        self._assert_volume(self.dst, server, fs_uuid, device)

    def test_evacuate_then_source_comes_back(self):
        server, fs_uuid, device = self._server_with_volume(61)
        engine, service = self.fail_source()

        server = self._evacuate_server(server, expected_host=self.dst,
                                       expected_state='ACTIVE')
        self._assert_volume(self.dst, server, fs_uuid, device)

        # The source's start-up removes its copy, and its mount only.
        engine.start()
        self.flags(host_url=engine.url, group='docker')
        self.flags(instances_path=self.paths[self.src])
        self.computes[self.src] = self.restart_compute_service(
            self.computes[self.src], keep_hypervisor_state=False)
        self.admin_api.put_service(service['id'], {'forced_down': False})
        self.assertEqual([], self.leftovers(self.src, server))
        self._assert_volume(self.dst, server, fs_uuid, device)
