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

from unittest import mock

from nova import context
from nova import exception
from nova import test
from nova.tests.unit import fake_instance

from novadocker.privsep import rescue_fs
from novadocker.virt.docker import labels as labels_mod
from novadocker.virt.docker import rescue


class RescueTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context())

    def test_layers_of_overlay2(self):
        info = {'GraphDriver': {'Name': 'overlay2', 'Data': {
            'LowerDir': '/d/a/diff:/d/b/diff', 'UpperDir': '/d/c/diff',
            'WorkDir': '/d/c/work', 'MergedDir': '/d/c/merged'}}}
        self.assertEqual((['/d/a/diff', '/d/b/diff'], '/d/c/diff',
                          '/d/c/work'), rescue.layers(self.instance, info))

    def test_other_storage_is_not_rescuable(self):
        for graph in ({'Name': 'overlayfs', 'Data': None}, {}):
            self.assertRaises(exception.InstanceNotRescuable,
                              rescue.layers, self.instance,
                              {'GraphDriver': graph})

    def test_rescue_password_is_set_where_the_image_can(self):
        client = mock.Mock()
        rescues = rescue.Rescues(client, 'cmp1', '/nonexistent')
        for code, warned in ((0, 0), (127, 1), (1, 1)):
            client.exec_with_input.return_value = (code, b'')
            with mock.patch.object(rescue.LOG, 'warning',
                                   autospec=True) as warning:
                rescues._set_password(self.instance, 'rid', 'pw')
            client.exec_with_input.assert_called_with(
                'rid', ['chpasswd'], b'root:pw\n', mock.ANY)
            self.assertEqual(warned, warning.call_count)
        # A password chpasswd cannot take: not set, the rescue goes on.
        client.reset_mock()
        rescues._set_password(self.instance, 'rid', 'a\nb')
        client.exec_with_input.assert_not_called()

    def test_rescue_container_args(self):
        args = {'name': 'nova-x', 'hostname': 'web', 'image': 'img',
                'labels': {}, 'host_config': {'network_mode': 'none',
                                              'mounts': [{'x': 1}]}}
        out = rescue.container_args(args, self.instance, 'cmp1', '/r/root')
        self.assertEqual('nova-%s-rescue' % self.instance.uuid, out['name'])
        self.assertEqual('rescue', out['labels'][labels_mod.LABEL_ROLE])
        # A namespace of its own, wired by the driver once it runs.
        self.assertEqual('none', out['host_config']['network_mode'])
        self.assertEqual('web', out['hostname'])
        self.assertEqual([{'Type': 'bind', 'Source': '/r/root',
                           'Target': '/rescue', 'ReadOnly': False}],
                         out['host_config']['mounts'])
        # The server's own arguments are left as they were.
        self.assertEqual('none', args['host_config']['network_mode'])
        self.assertEqual([{'x': 1}], args['host_config']['mounts'])


class OverlayOptionsTestCase(test.NoDBTestCase):
    def test_options(self):
        self.assertEqual('lowerdir=/a:/b,upperdir=/u,workdir=/w',
                         rescue_fs.overlay_options(['/a', '/b'], '/u', '/w'))

    def test_paths_that_could_add_options_are_refused(self):
        for bad in ('/a,upperdir=/x', '/a:/b', 'relative', '/a/../b',
                    '/a/', '/a b', '/a\n'):
            self.assertRaises(ValueError, rescue_fs.overlay_options,
                              [bad], '/u', '/w')
        self.assertRaises(ValueError, rescue_fs.overlay_options, [], '/u',
                          '/w')
        self.assertRaises(ValueError, rescue_fs.overlay_options,
                          ['/' + 'x' * 100] * 50, '/u', '/w')
