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

"""Cinder volumes through Nova's real attach flow (REST API, compute
manager, block device mappings) on loop devices that a Cinder fixture
hands out with os-brick's ``local`` connector."""

import json
import os
import subprocess
from unittest import mock

import fixtures
import nova.conf
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client
from nova.volume import cinder
import os_brick.privileged
from oslo_utils import uuidutils

from tests.functional import base
from tests.integration import volume_support

MIB = 1024 * 1024


class LoopCinderFixture(nova_fixtures.CinderFixture):
    """Nova's Cinder fixture, with volumes that are loop devices."""

    def __init__(self, test):
        super().__init__(test)
        self.VOLUME_CONNECTION_INFO = dict(self.VOLUME_CONNECTION_INFO)

    def add(self, device, read_only=False):
        vol_id = uuidutils.generate_uuid()
        self.VOLUME_CONNECTION_INFO[vol_id] = {
            'driver_volume_type': 'local',
            'data': {'device_path': device,
                     'access_mode': 'ro' if read_only else 'rw'}}
        return vol_id


def use_real_block_devices(test):
    """Before a functional test's setUp: os-brick and the host's block
    devices for real.
    """
    # The tests run as root: os-brick's privileged steps run in-process,
    # as the driver's own do here (base.py); the integration tests run
    # both through real privsep daemons.
    test.useFixture(fixtures.MockPatchObject(
        os_brick.privileged.default, 'client_mode', False))
    # Real block devices and os-brick's real connector properties: it
    # scans /sys for HBAs and the host's addresses, and the tests read
    # loop devices' sysfs. nova's guards against tests touching the host
    # are for tests that should have mocked it.
    test.useFixture(fixtures.MockPatchObject(
        nova_fixtures.SysFsPoisonFixture, 'inject_poison'))
    test.useFixture(fixtures.MockPatchObject(
        nova_fixtures.GenericPoisonFixture, 'POISON_THESE', tuple(
            p for p in nova_fixtures.GenericPoisonFixture.POISON_THESE
            if p[0] != 'psutil.net_if_addrs')))


class _VolumeBase(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(allow_resize_to_same_host=True)

    def setUp(self):
        use_real_block_devices(self)
        super().setUp()
        self.cinder = self.useFixture(LoopCinderFixture(self))
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def volume(self, size_mb=64, read_only=False):
        """A Cinder volume backed by a new blank loop device."""
        device = self.useFixture(_Loop(self.tmp, size_mb)).device
        return self.cinder.add(device, read_only), device

    def exec(self, server, *cmd):
        return volume_support.network_support.docker_exec(
            self.docker, self.container(server)['Id'], *cmd)

    def ok(self, server, *cmd):
        code, out = self.exec(server, *cmd)
        self.assertEqual(0, code, out)
        return out

    def mounts(self, server):
        return [line.split()[1] for line in self.ok(
            server, 'cat', '/proc/mounts').splitlines()]

    def attach(self, server, vol_id, tag=None):
        body = {'volumeId': vol_id}
        if tag:
            body['tag'] = tag
        self.api.post_server_volume(server['id'], {'volumeAttachment': body})
        self.wait_for(lambda: vol_id in self.attached(server),
                      what='volume attached')
        return '/volumes/' + (tag or os.path.basename(
            self.attached(server)[vol_id]))

    def detach(self, server, vol_id):
        self.api.delete_server_volume(server['id'], vol_id)
        self.wait_for(lambda: vol_id not in self.attached(server),
                      what='volume detached')

    def attached(self, server):
        """``{volume id: device name}``."""
        return {a['volumeId']: a['device'] for a in
                self.api.get_server_volumes(server['id'])}

    def host_dir(self, server):
        return os.path.join(self.driver._disks._volumes.host_dir(
            self.instance(server)))


class _Loop(fixtures.Fixture):
    def __init__(self, directory, size_mb):
        self._directory, self._size_mb = directory, size_mb

    def _setUp(self):
        cm = volume_support.loop_device(self._directory, self._size_mb)
        self.device = cm.__enter__()
        self.addCleanup(cm.__exit__, None, None, None)


class VolumeAttachTest(_VolumeBase):

    def _drive_devices(self, server):
        """``devices`` of the config drive's meta_data.json, as the
        container reads it.
        """
        return json.loads(self.ok(
            server, 'cat',
            '/config-drive/openstack/latest/meta_data.json'))['devices']

    def test_data_survives_detach_and_attach_to_another_server(self):
        vol_id, _device = self.volume()
        body = self._build_server(image_uuid=self.image['id'],
                                  flavor_id=self.flavor, networks='none')
        body['config_drive'] = True
        first = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        second = self.boot(self.image['id'], self.flavor)

        self.attach(first, vol_id, tag='data')
        self.assertIn('/volumes/data', self.mounts(first))
        self.ok(first, 'sh', '-c', 'echo kept > /volumes/data/file')
        meta = self.instance(first).device_metadata
        self.assertEqual([(vol_id, '/volumes/data', ['data'])],
                         [(d.serial, d.path, d.tags) for d in meta.devices])
        self.assertEqual([{'type': 'disk', 'bus': 'none', 'address': 'none',
                           'serial': vol_id, 'path': '/volumes/data',
                           'tags': ['data']}], self._drive_devices(first))

        self.detach(first, vol_id)
        self.assertNotIn('/volumes/data', self.mounts(first))
        self.assertEqual([], self.instance(first).device_metadata.devices)
        self.assertEqual([], self._drive_devices(first))

        path = self.attach(second, vol_id)
        self.assertEqual('kept\n', self.ok(second, 'cat', path + '/file'))

    def test_failed_attachment_complete_leaves_nothing(self):
        vol_id, device = self.volume()
        server = self.boot(self.image['id'], self.flavor)
        with mock.patch.object(cinder.API.attachment_complete,
                               'side_effect', RuntimeError('Cinder fault')):
            self.assertRaises(client.OpenStackApiException, self.attach,
                              server, vol_id)
        self.assertNotIn(vol_id, self.attached(server))
        self.assertEqual(['/volumes'], [m for m in self.mounts(server)
                                        if m.startswith('/volumes')])
        self.assertEqual([], os.listdir(self.host_dir(server)))
        self.assertEqual(
            [], volume_support.mountinfo.below(self.host_dir(server)))

    def test_extend_grows_the_filesystem(self):
        vol_id, device = self.volume(size_mb=300)
        subprocess.run(['mkfs.xfs', '-q', device], check=True)
        server = self.boot(self.image['id'], self.flavor)
        path = self.attach(server, vol_id)
        host = os.path.join(self.host_dir(server), os.path.basename(path))
        before = os.statvfs(host)
        os.truncate(volume_support.backing_file(device), 600 * MIB)
        subprocess.run(['losetup', '-c', device], check=True)
        self.cinder.volumes[vol_id] = {
            'id': vol_id, 'display_name': vol_id, 'size': 1,
            'multiattach': False, 'availability_zone': 'nova',
            'status': 'in-use', 'attach_status': 'attached'}
        self.api.api_post('/os-server-external-events', {'events': [{
            'name': 'volume-extended', 'server_uuid': server['id'],
            'tag': vol_id}]})
        self.wait_for(lambda: os.statvfs(host).f_blocks >
                      1.8 * before.f_blocks, what='filesystem grown')

    def test_compute_restart_keeps_volumes_mounted(self):
        vol_id, _device = self.volume()
        server = self.boot(self.image['id'], self.flavor)
        path = self.attach(server, vol_id)
        self.compute = self.restart_compute_service(self.compute)
        self.assertIn(path, self.mounts(server))
        self.detach(server, vol_id)

    def test_multiattach_volume_is_refused(self):
        server = self.boot(self.image['id'], self.flavor)
        self.api.microversion = '2.60'
        vol_id = self.cinder.MULTIATTACH_VOL
        self.assertRaises(client.OpenStackApiException, self.attach,
                          server, vol_id)
        self.assertNotIn(vol_id, self.attached(server))
        self.assertEqual([], os.listdir(self.host_dir(server)))

    def test_boot_from_volume_is_refused(self):
        vol_id, _device = self.volume()
        body = self._build_server(image_uuid='', flavor_id=self.flavor,
                                  networks='none')
        body['block_device_mapping_v2'] = [{
            'source_type': 'volume', 'destination_type': 'volume',
            'uuid': vol_id, 'boot_index': 0}]
        server = self.api.post_server({'server': body})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('boot from volume', server['fault']['message'])
        self.assertIsNone(self.container(server))


class VolumeBootTest(_VolumeBase):

    def test_two_volumes_and_ephemeral_through_the_servers_life(self):
        db_id, _d1 = self.volume()
        logs_id, _d2 = self.volume()
        flavor = self.create_flavor(ephemeral=1)
        bigger = self.create_flavor(memory_mb=192, ephemeral=1)
        body = self._build_server(image_uuid=self.image['id'],
                                  flavor_id=flavor, networks='none')
        body['config_drive'] = True
        body['block_device_mapping_v2'] = [
            {'source_type': 'image', 'destination_type': 'local',
             'uuid': self.image['id'], 'boot_index': 0},
            {'source_type': 'volume', 'destination_type': 'volume',
             'uuid': db_id, 'tag': 'db'},
            {'source_type': 'volume', 'destination_type': 'volume',
             'uuid': logs_id}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        logs = self._assert_devices(server, db_id, logs_id)
        self.ok(server, 'sh', '-c', 'echo 1 > /volumes/db/f && '
                'echo 2 > %s/f && echo 3 > /ephemeral0/f' % logs)

        def kept():
            self.assertEqual('1\n2\n3\n', self.ok(
                server, 'cat', '/volumes/db/f', logs + '/f',
                '/ephemeral0/f'))

        server = self._reboot_server(server)
        kept()
        server = self._reboot_server(server, hard=True)
        kept()
        server = self._stop_server(server)
        server = self._start_server(server)
        kept()
        server = self._resize_server(server, bigger)
        kept()
        server = self._confirm_resize(server)
        kept()
        # Nova's generic rebuild: volumes detached, container replaced,
        # volumes attached again (the ephemeral disk is made anew).
        server = self._rebuild_server(server, self.image['id'])
        self.assertEqual('1\n2\n', self.ok(
            server, 'cat', '/volumes/db/f', logs + '/f'))
        self.assertIn('/ephemeral0', self.mounts(server))

        instance = self.instance(server)
        self._delete_server(server)
        top = os.path.join(self.flags_instances_path(), instance.uuid)
        self.assertEqual([], volume_support.mountinfo.below(top))
        self.assertFalse(os.path.exists(top))

    def flags_instances_path(self):
        return nova.conf.CONF.instances_path

    def _assert_devices(self, server, db_id, logs_id):
        path = os.path.join(self.flags_instances_path(), server['id'],
                            'docker-config-drive', 'openstack', 'latest',
                            'meta_data.json')
        with open(path) as f:
            devices = {d['serial']: d for d in json.load(f)['devices']}
        self.assertEqual(('/volumes/db', ['db']),
                         (devices[db_id]['path'], devices[db_id]['tags']))
        logs = devices[logs_id]['path']
        self.assertRegex(logs, r'^/volumes/[sv]d[b-z]$')
        self.assertEqual([], devices[logs_id]['tags'])
        return logs
