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

"""The storage entrypoints' checks, run unprivileged (no mount is made)."""

import os

import fixtures
from nova import test

from novadocker.privsep import storage


class ChecksTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = os.path.realpath(self.useFixture(fixtures.TempDir()).path)

    def test_mount_points_must_be_plain_directories(self):
        plain = os.path.join(self.tmp, 'vdb')
        os.mkdir(plain)
        self.assertEqual(plain, storage._check_dir(plain))
        link = os.path.join(self.tmp, 'link')
        os.symlink('/etc', link)
        for bad in (link, 'relative/vdb', plain + '/../vdb', plain + '/',
                    os.path.join(self.tmp, 'missing'), None):
            self.assertRaises(ValueError, storage._check_dir, bad)

    def test_devices_must_be_block_devices_under_dev(self):
        self.assertRaises(ValueError, storage._check_device, '/dev/null')
        self.assertRaises(ValueError, storage._check_device, self.tmp)
        self.assertRaises(ValueError, storage._check_device, '/etc/passwd')

    def test_disk_files_must_be_regular_files(self):
        image = os.path.join(self.tmp, 'disk.eph0')
        open(image, 'w').close()
        self.assertEqual(image, storage._check_file(image))
        link = os.path.join(self.tmp, 'eph-link')
        os.symlink(image, link)
        self.assertRaises(ValueError, storage._check_file, link)
        self.assertRaises(ValueError, storage._check_file, self.tmp)

    def test_only_known_filesystems_are_mounted(self):
        for fstype in ('ext4', 'xfs'):
            self.assertEqual(fstype, storage._check_fstype(fstype))
        for fstype in ('btrfs', 'vfat', None, 'ext4,loop'):
            self.assertRaises(ValueError, storage._check_fstype, fstype)
