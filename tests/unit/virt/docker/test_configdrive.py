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

"""Config drive rendering (the parts without nova's metadata lookups) and
the per-instance file directory."""

import json
import os
import stat

from nova import context
from nova import exception
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker import configdrive
from novadocker.virt.docker import instancefiles


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class WantedTest(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), config_drive=None, user_data=None,
            key_data=None)
        self.instance.metadata = {}
        self.instance.system_metadata = {}

    def test_nothing_to_say_no_drive(self):
        self.assertFalse(configdrive.wanted(self.instance))

    def test_each_reason(self):
        for field, value in (('config_drive', 'True'),
                             ('user_data', 'aGk='),
                             ('key_data', 'ssh-ed25519 AAAA x'),
                             ('metadata', {'a': 'b'})):
            inst = self.instance.obj_clone()
            setattr(inst, field, value)
            self.assertTrue(configdrive.wanted(inst), field)

    def test_forced_by_config(self):
        self.flags(force_config_drive=True)
        self.assertTrue(configdrive.wanted(self.instance))

    def test_mandatory_image(self):
        self.instance.system_metadata = {
            'image_img_config_drive': 'mandatory'}
        self.assertTrue(configdrive.wanted(self.instance))


class RenderTest(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.root = self.useFixture(test.fixtures.TempDir()).path
        self.root = os.path.join(self.root, 'drive')
        os.mkdir(self.root)

    def test_tree_bytes_and_text(self):
        configdrive.render(self.root, [
            ('openstack/latest/meta_data.json', b'{"uuid": "u"}'),
            ('openstack/latest/user_data', b'\x00\xffbinary'),
            ('openstack/content/0000', 'caf\u00e9'),
        ])
        with open(os.path.join(self.root, 'openstack/latest/user_data'),
                  'rb') as f:
            self.assertEqual(b'\x00\xffbinary', f.read())
        with open(os.path.join(self.root, 'openstack/content/0000'),
                  'rb') as f:
            self.assertEqual('caf\u00e9'.encode('utf-8'), f.read())
        self.assertEqual(0o644, _mode(os.path.join(
            self.root, 'openstack/latest/meta_data.json')))
        self.assertEqual(0o755, _mode(os.path.join(self.root, 'openstack')))

    def test_paths_that_leave_the_drive_are_refused(self):
        for bad in ('../escape', 'openstack/../../x', '/etc/passwd'):
            self.assertRaises(exception.InvalidInput, configdrive.render,
                              self.root, [(bad, b'x')])
        self.assertFalse(os.path.exists(os.path.join(
            os.path.dirname(self.root), 'escape')))

    def test_symlink_is_not_followed(self):
        outside = os.path.join(os.path.dirname(self.root), 'outside')
        os.symlink(outside, os.path.join(self.root, 'link'))
        self.assertRaises(OSError, configdrive.render, self.root,
                          [('link', b'x')])
        self.assertFalse(os.path.exists(outside))


class ConfigDrivesTest(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.base = self.useFixture(test.fixtures.TempDir()).path
        self.files = instancefiles.InstanceFiles(self.base)
        self.drives = configdrive.ConfigDrives(self.files)
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), config_drive=None, user_data='aGk=',
            key_data=None)
        self.instance.metadata = {}
        self.instance.system_metadata = {}

    def test_rendered_then_removed(self):
        self.stub_out('novadocker.virt.docker.configdrive.metadata_items',
                      lambda *a: [('openstack/latest/user_data', b'hi')])
        root = self.drives.create(self.instance, [], None, [])
        top = os.path.join(self.base, self.instance.uuid)
        self.assertEqual(os.path.join(top, configdrive.DIR_NAME), root)
        self.assertEqual(0o700, _mode(top))
        self.assertEqual(0o755, _mode(root))
        self.assertEqual('True', self.instance.config_drive)
        self.drives.remove(self.instance)
        self.assertFalse(os.path.exists(top))

    def test_remove_takes_what_a_failure_left(self):
        def broken(*args):
            yield ('openstack/latest/meta_data.json', b'{}')
            raise RuntimeError('lookup failed')
        self.stub_out('novadocker.virt.docker.configdrive.metadata_items',
                      broken)
        self.assertRaises(RuntimeError, self.drives.create, self.instance,
                          [], None, [])
        # The build's rollback (rollback.py) is the one that removes.
        self.assertNotEqual([], os.listdir(self.base))
        self.drives.remove(self.instance)
        self.assertEqual([], os.listdir(self.base))

    def test_no_drive_no_files(self):
        self.instance.user_data = None
        self.assertIsNone(self.drives.create(self.instance, [], None, []))
        self.assertEqual([], os.listdir(self.base))

    def test_other_files_keep_the_instance_directory(self):
        self.stub_out('novadocker.virt.docker.configdrive.metadata_items',
                      lambda *a: [])
        self.drives.create(self.instance, [], None, [])
        other = self.files.create(self.instance.uuid, 'other', 0o700)
        self.drives.remove(self.instance)
        self.assertTrue(os.path.isdir(other))
        self.files.remove(self.instance.uuid, 'other')
        self.assertEqual([], os.listdir(self.base))

    def test_what_a_move_carries_renders_the_same_files(self):
        injected = [('/etc/motd', b'hello\x00\xff'), ('/etc/b', b'')]

        def items(instance, injected_files, admin_password, network_info):
            files = [{'path': p, 'content_path': '/content/%04d' % i}
                     for i, (p, _d) in enumerate(injected_files)]
            meta = {'files': files, 'admin_pass': admin_password}
            yield ('openstack/latest/meta_data.json', json.dumps(meta))
            for i, (_p, data) in enumerate(injected_files):
                yield ('openstack/content/%04d' % i, data)

        self.stub_out('novadocker.virt.docker.configdrive.metadata_items',
                      items)
        self.assertIsNone(self.drives.carried(self.instance))
        self.drives.create(self.instance, injected, 'secret', [])
        carried = json.loads(json.dumps(self.drives.carried(self.instance)))
        self.assertEqual((injected, 'secret'),
                         configdrive.from_carried(carried))
        self.assertEqual(([], None), configdrive.from_carried(None))

    def test_carried_content_outside_the_drive_is_refused(self):
        self.stub_out(
            'novadocker.virt.docker.configdrive.metadata_items',
            lambda *a: [('openstack/latest/meta_data.json', json.dumps(
                {'files': [{'path': '/x',
                            'content_path': '/../../../../etc/passwd'}]}))])
        self.drives.create(self.instance, [], None, [])
        self.assertRaises(exception.InvalidInput, self.drives.carried,
                          self.instance)
