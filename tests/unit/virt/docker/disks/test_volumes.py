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

from novadocker.virt.docker.disks import volumes

FS = ['ext4', 'xfs']


def _vol(read_only=False):
    return volumes.Volume('v1', 'vdb', {}, read_only)


class ClassifyTest(test.NoDBTestCase):

    def test_blank_is_formatted(self):
        self.assertEqual(('format', 'ext4'),
                         volumes.classify(_vol(), {'blank': True}, FS))

    def test_blank_read_only_is_refused(self):
        self.assertRaises(volumes.VolumeRefused, volumes.classify,
                          _vol(True), {'blank': True}, FS)

    def test_known_filesystem_is_mounted(self):
        fields = {'TYPE': 'xfs', 'USAGE': 'filesystem', 'blank': False}
        self.assertEqual(('mount', 'xfs'),
                         volumes.classify(_vol(), fields, FS))

    def test_everything_else_is_refused(self):
        for fields in ({'blank': False},
                       {'PTTYPE': 'gpt', 'blank': False},
                       {'TYPE': 'swap', 'USAGE': 'other', 'blank': False},
                       {'TYPE': 'btrfs', 'USAGE': 'filesystem',
                        'blank': False},
                       {'TYPE': 'ext4', 'USAGE': 'filesystem',
                        'PTTYPE': 'dos', 'blank': False}):
            self.assertRaises(volumes.VolumeRefused, volumes.classify,
                              _vol(), fields, FS)


class NamesTest(test.NoDBTestCase):

    def test_tag_wins_over_device(self):
        self.assertEqual('data', volumes.mount_name('v', 'data', '/dev/vdb'))
        self.assertEqual('vdb', volumes.mount_name('v', None, '/dev/vdb'))

    def test_unsafe_names_are_refused(self):
        for tag in ('..', '.hidden', 'a b', '-x', 'x' * 64):
            self.assertRaises(volumes.VolumeRefused, volumes.mount_name,
                              'v', tag, '/dev/vdb')
        self.assertRaises(volumes.VolumeRefused, volumes.mount_name,
                          'v', None, None)

    def test_volume_from_connection_info(self):
        vol = volumes.volume({'serial': 'v1', 'data': {'access_mode': 'ro'}},
                             None, '/dev/sdc')
        self.assertEqual(('v1', 'sdc', True),
                         (vol.volume_id, vol.name, vol.read_only))
        vol = volumes.volume({'data': {'volume_id': 'v2'}}, 'x', None)
        self.assertEqual(('v2', 'x', False),
                         (vol.volume_id, vol.name, vol.read_only))

    def test_docker_mount_is_read_only_rslave(self):
        self.assertEqual(
            {'Type': 'bind', 'Source': '/i/u/volumes', 'Target': '/volumes',
             'ReadOnly': True,
             'BindOptions': {'Propagation': 'rslave',
                             'ReadOnlyNonRecursive': True}},
            volumes.docker_mount('/i/u/volumes', '/volumes'))
