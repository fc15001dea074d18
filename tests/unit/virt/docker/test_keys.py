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

"""authorized_keys for [docker] inject_key."""

import os
import stat

from nova import context
from nova import exception
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker import instancefiles
from novadocker.virt.docker import keys

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host'


class AuthorizedKeysTest(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.base = self.useFixture(test.fixtures.TempDir()).path
        self.keys = keys.AuthorizedKeys(
            instancefiles.InstanceFiles(self.base))
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), key_data=KEY, key_name='k')

    def test_content(self):
        self.assertEqual(b'a b\nc d\n',
                         keys.authorized_keys('  a b\n\n\nc d  \n'))

    def test_split_on_newlines_only(self):
        self.assertEqual(b'a b\tc\nd e\n',
                         keys.authorized_keys('a b\tc\r\nd e\r\n'))

    def test_control_characters_refused(self):
        for text in ('a b \x1b[2J', 'a b\x0cssh-rsa X', 'a\x00b',
                     'a b\u2028c', 'a\x7f'):
            self.assertRaises(exception.InvalidInput, keys.authorized_keys,
                              text)

    def test_off_or_no_key_writes_nothing(self):
        self.assertEqual({}, self.keys.create(self.instance, False))
        self.instance.key_data = None
        self.assertEqual({}, self.keys.create(self.instance, True))
        self.assertEqual([], os.listdir(self.base))

    def test_written_once_and_mounted_at_root(self):
        mounts = self.keys.create(self.instance, True)
        self.assertEqual([keys.TARGET], list(mounts))
        path = mounts[keys.TARGET]
        with open(path) as f:
            self.assertEqual(KEY + '\n', f.read())
        self.assertEqual(0o644, stat.S_IMODE(os.stat(path).st_mode))
        # A second spawn (a rebuild) starts afresh: still one key.
        mounts = self.keys.create(self.instance, True)
        with open(mounts[keys.TARGET]) as f:
            self.assertEqual(1, f.read().count(KEY))

    def test_remove(self):
        self.keys.create(self.instance, True)
        self.keys.remove(self.instance)
        self.assertEqual([], os.listdir(self.base))
