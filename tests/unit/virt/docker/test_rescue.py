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
from unittest import mock

import fixtures
from nova import context
from nova import exception
from nova import test
from nova.tests.unit import fake_instance

from novadocker.privsep import rescue_fs
from novadocker.virt.docker.disks import mountinfo
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
        for graph in ({'Name': 'vfs', 'Data': None}, {}):
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


CID = 'c0ffee' * 10 + 'beef'
SNAP = '/d/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots'
# The engine's own mount of a container's root file system (containerd
# image store), as /proc/self/mountinfo shows it.
ENGINE_MOUNT = (
    '90 22 0:51 / /d/rootfs/overlayfs/%s rw,relatime shared:5 - overlay '
    'overlay rw,lowerdir=%s/5/fs:%s/4/fs,upperdir=%s/6/fs,'
    'workdir=%s/6/work,index=off\n' % (CID, SNAP, SNAP, SNAP, SNAP))
OTHER_MOUNTS = (
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n'
    '91 22 0:52 / /d/rootfs/overlayfs/%s rw shared:6 - tmpfs tmpfs rw\n'
    '92 22 0:53 / /d/rootfs/overlayfs/other rw shared:7 - overlay overlay '
    'rw,lowerdir=/x,upperdir=/y,workdir=/z\n' % CID)


class SnapshotterTestCase(test.NoDBTestCase):
    """Rescue on an engine with the containerd image store: the layers
    are recorded from the engine's mount at each start.
    """

    def setUp(self):
        super().setUp()
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context())
        self.path = self.useFixture(fixtures.TempDir()).path
        self.rescues = rescue.Rescues(mock.Mock(), 'cmp1', self.path)
        self.table = OTHER_MOUNTS + ENGINE_MOUNT
        self.useFixture(fixtures.MockPatchObject(
            mountinfo, 'mounts', lambda: mountinfo.parse(self.table)))

    @staticmethod
    def _info(container_id=CID, storage='overlayfs'):
        return {'Id': container_id,
                'GraphDriver': {'Name': storage, 'Data': None}}

    def _layers(self, container_id=CID):
        return self.rescues._layers(self.instance, self._info(container_id))

    def test_layers_recorded_at_start(self):
        self.rescues.remember(self.instance, self._info())
        self.table = OTHER_MOUNTS       # stopped: the engine unmounted
        self.assertEqual(([SNAP + '/5/fs', SNAP + '/4/fs'], SNAP + '/6/fs',
                          SNAP + '/6/work'), self._layers())
        # Kept through rescues; forgotten with the container.
        self.rescues.stop(self.instance)
        self.assertEqual(SNAP + '/6/fs', self._layers()[1])
        self.rescues.forget(self.instance)
        self.rescues.forget(self.instance)
        self.assertRaises(exception.InstanceNotRescuable, self._layers)
        self.assertEqual([], os.listdir(os.path.join(self.path,
                                                     self.instance.uuid)))

    def test_a_container_that_never_ran_is_not_rescuable(self):
        self.assertRaises(exception.InstanceNotRescuable, self._layers)
        # Another container of the same server (rebuilt since).
        self.rescues.remember(self.instance, self._info())
        self.assertRaises(exception.InstanceNotRescuable, self._layers,
                          'c1')

    def test_nothing_recorded_on_other_engines(self):
        self.table = OTHER_MOUNTS
        self.rescues.remember(self.instance, self._info())
        # overlay2 names its layers in docker inspect: a start there does
        # not even read the mount table.
        with mock.patch.object(mountinfo, 'mounts', autospec=True) as read:
            self.rescues.remember(self.instance,
                                  self._info(storage='overlay2'))
        read.assert_not_called()
        self.assertFalse(os.path.exists(os.path.join(self.path,
                                                     self.instance.uuid)))

    def test_relative_directories_are_not_recorded(self):
        # containerd's short form of the options of very many layers; the
        # start goes on.
        self.table = ENGINE_MOUNT.replace('lowerdir=%s/5/fs' % SNAP,
                                          'lowerdir=5/fs')
        with mock.patch.object(rescue.LOG, 'warning',
                               autospec=True) as warning:
            self.rescues.remember(self.instance, self._info())
        self.assertEqual(1, warning.call_count)
        self.assertRaises(exception.InstanceNotRescuable, self._layers)


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
