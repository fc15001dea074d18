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

from novadocker.virt.docker.disks import mountinfo

TEXT = (
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n'
    '40 22 0:40 /i/u/volumes /i/u/volumes rw shared:7 - ext4 /dev/sda1 rw\n'
    '41 40 7:0 / /i/u/volumes/my\\040data rw,nosuid master:7 - xfs '
    '/dev/loop0 rw\n'
    'garbage line\n')


class ParseTest(test.NoDBTestCase):

    def test_parse(self):
        mounts = mountinfo.parse(TEXT)
        self.assertEqual(3, len(mounts))
        self.assertEqual(('/i/u/volumes', True),
                         (mounts[1].target, mounts[1].shared))
        last = mounts[2]
        self.assertEqual(('/i/u/volumes/my data', '/dev/loop0', 'xfs',
                          False),
                         (last.target, last.source, last.fstype, last.shared))
        self.assertIn('nosuid', last.options)
        self.assertEqual(['rw'], last.super_options)

    def test_super_options_of_an_overlay(self):
        mounts = mountinfo.parse(
            '90 22 0:51 / /r/c1 rw,relatime - overlay overlay '
            'rw,lowerdir=/l/a:/l/b,upperdir=/u\\040x,workdir=/w\n')
        self.assertEqual(['rw', 'lowerdir=/l/a:/l/b', 'upperdir=/u x',
                          'workdir=/w'], mounts[0].super_options)
