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

import os

import fixtures
from nova import context
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker import mounts

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB test@example'


class RenderedFilesTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.path = self.useFixture(fixtures.TempDir()).path
        self.files = mounts.RenderedFiles(self.path)
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), key_data=KEY)
        self.instance.metadata = {}
        self.instance.system_metadata = {}

    def test_key_mount_then_removed(self):
        self.useFixture(fixtures.MockPatch(
            'novadocker.virt.docker.configdrive.ConfigDrives.create',
            return_value=None))
        got = self.files.create(self.instance, [], None, [], '/cd', True)
        source = got['/root/.ssh/authorized_keys']
        with open(source) as f:
            self.assertEqual(KEY + '\n', f.read())
        self.assertNotIn('/cd', got)
        self.files.remove(self.instance)
        self.assertFalse(os.path.exists(source))

    def test_nothing_left_when_rendering_fails(self):
        self.useFixture(fixtures.MockPatch(
            'novadocker.virt.docker.configdrive.ConfigDrives.create',
            side_effect=OSError('disk full')))
        self.assertRaises(OSError, self.files.create, self.instance, [],
                          None, [], '/cd', True)
        self.assertEqual([], os.listdir(self.path))
