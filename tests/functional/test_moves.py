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

"""Servers move between two Docker hosts, through Nova's REST API.

Cold migration and resize to the other host (confirm and revert),
evacuation, shelve-offload and unshelve elsewhere. Each host has its own
private dockerd; both share the host's Open vSwitch.
"""

import base64
import errno
import functools
import io
import json
import tarfile
from unittest import mock

from nova.compute import power_state

from novadocker.privsep import linux_net
from novadocker.virt.docker import exception
from novadocker.virt.docker import migration as docker_migration
from novadocker.virt.docker import transfer
from tests.functional import base
from tests.functional import multihost
from tests.functional import test_admin_password
from tests.functional import test_networking
from tests import image_tarballs as tarballs
from tests import images as test_images

MIB = 1024 * 1024
MARKER = '/root/moved'
INJECTED = b'injected at boot\n'
ADMIN_PASS = 'given at boot'
# The two engines serve every test here and stop with the module.
tearDownModule = multihost.remove_engines


class _MovesBase(test_networking.OvsPortsMixin, multihost.TwoHostTestCase):

    def setUp(self):
        super().setUp()
        self.setup_ovs_ports()
        # Real image data: each host loads it from Glance when it needs it.
        layer = test_images.busybox_rootfs()
        self.image = self.create_docker_image(
            name='moves-busybox', data=tarballs.docker_archive(
                [layer], repo_tags=(),
                config_bytes=tarballs.config([tarballs.sha256(layer)])))
        # No ephemeral disk: it would stay on its host.
        self.small = self._create_flavor(memory_mb=128, vcpu=1, disk=1,
                                         ephemeral=0)
        self.big = self._create_flavor(memory_mb=320, vcpu=2, disk=1,
                                       ephemeral=0)

    def boot_with_marker(self, index, host=None, **extra):
        """A server on ``host`` (src) with a port and a file written."""
        server = self.boot_on(host or self.src, self.image['id'], self.small,
                              networks=[{'port': self._port(index)}],
                              **extra)
        self.exec_on(host or self.src, server, 'sh', '-c',
                     'head -c 65536 /dev/urandom > %s; md5sum %s > %s.md5'
                     % (MARKER, MARKER, MARKER))
        return server

    def assert_marker(self, host, server):
        self.exec_on(host, server, 'md5sum', '-c', MARKER + '.md5')

    def marker_kept(self, host, server):
        """Whether the (possibly stopped) container still has the file."""
        stream, _stat = self.apis[host].get_archive(
            'nova-%s' % server['id'], MARKER + '.md5')
        with tarfile.open(fileobj=io.BytesIO(b''.join(stream))) as tar:
            return MARKER in tar.extractfile(tar.getmembers()[0]).read(
            ).decode()

    def assert_limits(self, host, server, memory_mb, vcpus):
        hc = self.container_on(host, server)['HostConfig']
        self.assertEqual(memory_mb * MIB, hc['Memory'])
        self.assertEqual(vcpus * 10 ** 9, hc['NanoCpus'])

    def addresses(self, host, server):
        out = self.exec_on(host, server, 'ip', 'addr', 'show', 'eth0')
        return sorted(line.split()[1] for line in out.splitlines()
                      if line.strip().startswith(('inet', 'link/ether')))

    def resize_away(self, server):
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': self.big}})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE',
                                             max_retries=60)
        self.assertEqual(self.dst, server['OS-EXT-SRV-ATTR:host'])
        return server

    def wait_clean(self, host, server):
        try:
            base.wait_for(lambda: not self.leftovers(host, server), 60,
                          what='nothing of %s on %s' % (server['id'], host))
        except AssertionError:
            self.assertEqual([], self.leftovers(host, server), host)
            raise


class MigrationTest(_MovesBase):

    def _boot_with_injected_file(self, index):
        # Personality files are in the API up to microversion 2.56.
        self.api.microversion = '2.56'
        try:
            server = self.boot_with_marker(
                index, config_drive=True, adminPass=ADMIN_PASS,
                personality=[{
                    'path': '/etc/injected',
                    'contents': base64.b64encode(INJECTED).decode()}])
        finally:
            self.api.microversion = self.microversion
        return server

    def assert_drive(self, host, server, admin_pass):
        drive = '/config-drive/openstack/'
        meta = json.loads(self.exec_on(host, server, 'cat',
                                       drive + 'latest/meta_data.json'))
        self.assertEqual(admin_pass, meta['admin_pass'])
        [entry] = meta['files']
        self.assertEqual('/etc/injected', entry['path'])
        self.assertEqual(INJECTED.decode(), self.exec_on(
            host, server, 'cat', drive + entry['content_path']))

    def test_resize_to_other_host_then_confirm(self):
        server = self._boot_with_injected_file(40)
        self.assert_drive(self.src, server, ADMIN_PASS)
        before = self.addresses(self.src, server)

        server = self.resize_away(server)
        self.assert_marker(self.dst, server)
        self.assert_limits(self.dst, server, 320, 2)
        self.assertEqual(before, self.addresses(self.dst, server))
        self.assertIn('192.0.2.40/24', before)
        info = self.container_on(self.dst, server)
        self.assertEqual(server['OS-EXT-SRV-ATTR:hostname'],
                         info['Config']['Hostname'])
        self.assertEqual(self.dst, info['Config']['Labels'][
            'org.openstack.nova.host'])
        # The config drive has what only the boot gave.
        self.assert_drive(self.dst, server, ADMIN_PASS)
        # The source keeps its container, stopped, until confirm.
        self.assertFalse(self.container_on(self.src, server)['State'][
            'Running'])

        server = self._confirm_resize(server)
        self.wait_clean(self.src, server)
        self.assert_marker(self.dst, server)
        # The port stays plugged on the destination.
        self.assertEqual(before, self.addresses(self.dst, server))

    def test_migrate_then_revert(self):
        server = self.boot_with_marker(41)
        before = self.addresses(self.src, server)
        server = self.resize_away(server)

        server = self._revert_resize(server)
        self.assertEqual(self.src, server['OS-EXT-SRV-ATTR:host'])
        self.assert_marker(self.src, server)
        self.assert_limits(self.src, server, 128, 1)
        self.assertEqual(before, self.addresses(self.src, server))
        self.wait_clean(self.dst, server)

    def test_migrate_stopped_server_stays_stopped(self):
        server = self.boot_on(self.src, self.image['id'], self.small)
        server = self._stop_server(server)
        server = self._migrate_server(server)
        self.assertEqual(self.dst, server['OS-EXT-SRV-ATTR:host'])
        self.assertFalse(self.container_on(self.dst, server)['State'][
            'Running'])
        self.api.post_server_action(server['id'], {'confirmResize': None})
        self._wait_for_state_change(server, 'SHUTOFF')
        self.wait_clean(self.src, server)


class EvacuateTest(_MovesBase):

    def _stranger(self, host):
        """A container on ``host`` that is not Nova's."""
        api = self.apis[host]
        cid = api.create_container(self.busybox, command=['sleep', '1000'],
                                   name='stranger-%s' % host)['Id']
        self.addCleanup(api.remove_container, cid, force=True)
        return cid

    def test_evacuate_then_source_comes_back(self):
        server = self.boot_with_marker(42)
        other = self.boot_on(self.src, self.image['id'], self.small)
        stranger = self._stranger(self.src)
        before = self.addresses(self.src, server)

        # The source host fails: its engine and its nova-compute stop.
        engine, service = self.fail_source()

        server = self._evacuate_server(server, expected_host=self.dst,
                                       expected_state='ACTIVE')
        self.assertEqual(before, self.addresses(self.dst, server))
        # Rebuilt from its image: the writable layer stayed behind.
        self.assertNotIn(MARKER.rsplit('/', 1)[1],
                         self.exec_on(self.dst, server, 'ls', '/root'))

        # The source comes back: nova-compute removes the evacuated copy.
        self.engines[self.src].start()
        self.flags(host_url=self.engines[self.src].url, group='docker')
        self.flags(instances_path=self.paths[self.src])
        self.computes[self.src] = self.restart_compute_service(
            self.computes[self.src], keep_hypervisor_state=False)
        self.admin_api.put_service(service['id'], {'forced_down': False})
        self.assertEqual([], self.leftovers(self.src, server))
        # ... and nothing else.
        self.assertIsNotNone(self.container_on(self.src, other))
        self.apis[self.src].inspect_container(stranger)
        self.assertEqual(before, self.addresses(self.dst, server))


class ShelveTest(_MovesBase):

    def test_shelve_offload_and_unshelve_on_other_host(self):
        self.flags(shelved_offload_time=0)
        server = self.boot_with_marker(43)
        server = self._shelve_server(server)
        self.assertEqual([], self.leftovers(self.src, server))

        # Only the other host takes it back.
        service = self.admin_api.get_services(
            host=self.src, binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {'status': 'disabled'})
        server = self._unshelve_server(server)
        self.assertEqual(self.dst, server['OS-EXT-SRV-ATTR:host'])
        self.assert_marker(self.dst, server)


def _cut_after_first_chunk(real):
    def receive(address, *args):
        stream = real(address, *args)
        yield next(stream)
        stream.close()
        raise transfer.TransferError(reason='injected: link down')
    return receive


class MigrationFaultTest(_MovesBase):
    """A fault at each step leaves the server recoverable through Nova's
    API, with its data, and nothing of it left behind.
    """

    # Real casts, as in a cloud: the API returns, the failure comes later.
    CAST_AS_CALL = False

    def _driver(self, host):
        return self.computes[host].manager.driver

    def _migrate_fails(self, server, status):
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': self.big}})
        self._wait_for_migration_status(server, ['error'])
        return self._wait_for_state_change(server, status)

    def _no_committed_layer(self, host):
        return not [t for i in self.apis[host].images()
                    for t in i.get('RepoTags') or ()
                    if t.startswith('nova-migration:')]

    def test_capture_fault_rolls_back_to_the_source(self):
        server = self.boot_with_marker(50)
        before = self.addresses(self.src, server)
        with mock.patch.object(
                self._driver(self.src)._client, 'commit', autospec=True,
                side_effect=exception.DockerServerError(
                    what='commit', reason='injected')):
            server = self._migrate_fails(server, 'ACTIVE')
        self.assertEqual(self.src, server['OS-EXT-SRV-ATTR:host'])
        self.wait_clean(self.dst, server)
        base.wait_for(lambda: self._no_committed_layer(self.src), 60,
                      what='the committed layer to go')
        self.assert_marker(self.src, server)
        self.assertEqual(before, self.addresses(self.src, server))

    def test_flavor_with_ephemeral_disk_stays(self):
        flavor = self._create_flavor(memory_mb=128, vcpu=1, disk=1,
                                     ephemeral=1)
        server = self.boot_on(self.src, self.image['id'], flavor)
        # A cold migration: the same flavor, the same disk size.
        self.api.post_server_action(server['id'], {'migrate': None})
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(self.src, server['OS-EXT-SRV-ATTR:host'])
        # Nova records the fault after it has put the server back.
        fault = base.wait_for(lambda: self.instance(server).fault, base.WAIT,
                              what='the migration fault')
        self.assertIn('ephemeral disk', fault.message)
        self.assertTrue(self.container_on(self.src, server)['State'][
            'Running'])
        self.wait_clean(self.dst, server)
        self.assertTrue(self._no_committed_layer(self.src))

    def _faults(self):
        dst = self._driver(self.dst)
        injected = exception.DockerServerError(what='step', reason='injected')

        def load_some(chunks):
            for _i, _chunk in zip(range(2), chunks):
                pass
            raise injected

        return {
            'transfer': mock.patch.object(
                docker_migration.transfer, 'receive',
                new=_cut_after_first_chunk(transfer.receive)),
            'load': mock.patch.object(dst._client, 'load_image',
                                      autospec=True, side_effect=load_some),
            'create': mock.patch.object(dst._containers, 'create',
                                        autospec=True, side_effect=injected),
            'network': mock.patch.object(
                linux_net, 'create_veth', autospec=True,
                side_effect=OSError(errno.EIO, 'injected')),
        }

    def _finish_fails(self, index, fault):
        """A server whose move to dst failed in finish_migration."""
        server = self.boot_with_marker(index)
        with fault:
            server = self._migrate_fails(server, 'ERROR')
        self.assertEqual(self.dst, server['OS-EXT-SRV-ATTR:host'])
        # The source keeps its container, stopped, with the data.
        self.assertTrue(self.marker_kept(self.src, server))
        self.assertIsNone(self.container_on(self.dst, server))
        return server

    def test_destination_fault_then_hard_reboot_recovers(self):
        for index, (step, fault) in enumerate(sorted(self._faults().items())):
            server = self._finish_fails(51 + index, fault)
            expected = {'transfer': 'injected: link down',
                        'network': 'OSError'}.get(step, 'injected')
            self.assertIn(expected, self.instance(server).fault.message)

            # Nova's advice after a failed finish_resize.
            self.api.post_server_action(server['id'],
                                        {'reboot': {'type': 'HARD'}})
            server = self._wait_for_state_change(server, 'ACTIVE')
            self.assertEqual(self.dst, server['OS-EXT-SRV-ATTR:host'])
            self.assert_marker(self.dst, server)
            self.assertIn('192.0.2.%d/24' % (51 + index),
                          self.addresses(self.dst, server))
            # The source heard it: its copy is gone, nothing else is left.
            self.wait_clean(self.src, server)
            self.assertTrue(self._no_committed_layer(self.src))
            self.assertEqual(
                sorted(['/nova-%s' % server['id'],
                        'nova-instance:%s' % server['id']]),
                sorted(self.leftovers(self.dst, server)), step)
            self.assertNotIn('migration', self.instance_dir(self.dst, server))

    def test_destination_fault_then_delete_leaves_nothing(self):
        server = self._finish_fails(55, self._faults()['create'])
        self._delete_server(server)
        self.wait_clean(self.dst, server)
        self.assertEqual([], self.instance_dir(self.dst, server))
        # The destination told the source: its copy goes too.
        self.wait_clean(self.src, server)
        self.assertTrue(self._no_committed_layer(self.src))

    def test_revert_fault_then_hard_reboot_recovers(self):
        server = self.boot_with_marker(56)
        server = self.resize_away(server)
        with mock.patch.object(
                self._driver(self.src)._network, 'wire', autospec=True,
                side_effect=exception.DockerServerError(
                    what='network wiring', reason='injected')):
            self.api.post_server_action(server['id'],
                                        {'revertResize': None})
            server = self._wait_for_state_change(server, 'ERROR')
        self.assertEqual(self.src, server['OS-EXT-SRV-ATTR:host'])
        self.wait_clean(self.dst, server)
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'HARD'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assert_marker(self.src, server)


class RescueTest(_MovesBase):

    def rescue_exec(self, server, *cmd):
        api = self.apis[self.src]
        exec_id = api.exec_create('nova-%s-rescue' % server['id'],
                                  list(cmd))['Id']
        out = api.exec_start(exec_id).decode()
        self.assertEqual(0, api.exec_inspect(exec_id)['ExitCode'], out)
        return out

    def test_rescue_image_and_password(self):
        layer = test_images.busybox_rootfs(test_admin_password.FILES)
        rescue_image = self.create_docker_image(
            name='moves-chpasswd', data=tarballs.docker_archive(
                [layer], repo_tags=(),
                config_bytes=tarballs.config([tarballs.sha256(layer)])))
        server = self.boot_on(self.src, self.image['id'], self.small)
        answer = self.api.post_server_action(server['id'], {'rescue': {
            'rescue_image_ref': rescue_image['id'],
            'adminPass': test_admin_password.PASSWORD}})
        self.assertEqual(test_admin_password.PASSWORD, answer['adminPass'])
        server = self._wait_for_state_change(server, 'RESCUE')
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        # Root's password in the rescue container is the rescue password.
        stored = self.rescue_exec(server, 'cat', '/etc/shadow').split(':')[1]
        self.assertTrue(stored.startswith('$6$'), stored)
        self.assertEqual(stored, self.rescue_exec(
            server, 'busybox', 'mkpasswd', '-m', 'sha512', '-S',
            stored.split('$')[2], test_admin_password.PASSWORD).strip())
        server = self._unrescue_server(server)
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])

    def test_rescue_edit_unrescue(self):
        server = self.boot_with_marker(44)
        before = self.addresses(self.src, server)
        original = self.container_on(self.src, server)['Id']

        self.api.post_server_action(server['id'], {'rescue': None})
        server = self._wait_for_state_change(server, 'RESCUE')
        rescuer = 'nova-%s-rescue' % server['id']
        api = self.apis[self.src]
        self.assertFalse(self.container_on(self.src, server)['State'][
            'Running'])
        # The rescue container is the one that runs.
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        run = functools.partial(self.rescue_exec, server)

        # The rescue container has the server's ports and its root.
        self.assertEqual(before, sorted(
            line.split()[1] for line in run('ip', 'addr', 'show', 'eth0')
            .splitlines()
            if line.strip().startswith(('inet', 'link/ether'))))
        self.assertEqual(
            run('cat', '/rescue' + MARKER + '.md5').split()[0],
            run('md5sum', '/rescue' + MARKER).split()[0])
        run('sh', '-c', 'echo fixed > /rescue/root/fixed-in-rescue')
        # The server's own image is the rescue image by default: the
        # file is not in the rescue container's own root.
        self.assertNotIn('moved', run('ls', '/root'))

        server = self._unrescue_server(server)
        self.assertEqual(original, self.container_on(self.src, server)['Id'])
        self.assertEqual('fixed\n', self.exec_on(
            self.src, server, 'cat', '/root/fixed-in-rescue'))
        self.assert_marker(self.src, server)
        self.assertEqual(before, self.addresses(self.src, server))
        self.assertEqual([], [c for c in api.containers(all=True)
                              if c['Names'][0] == '/' + rescuer])
