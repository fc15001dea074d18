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

"""Config drive and SSH key for containers, through nova's API, on a real
engine: what the image sees inside the container, and what is left on the
host afterwards."""

import base64
import json
import os

import fixtures

from novadocker.virt.docker import keys
from tests.functional import base

PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9vZm5vdmFkb2NrZXJ0ZXN0'
              'a2V5MDAwMDAwMDAwMDAw nd@test')
USER_DATA = b'#!/bin/sh\necho "hello from user data"\n\x00\xff'
DRIVE = '/config-drive'


class _FilesTestCase(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)

    def setUp(self):
        super().setUp()
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor()

    def _keypair(self, name='nd-key'):
        self.api.post_keypair({'keypair': {'name': name,
                                           'public_key': PUBLIC_KEY}})
        return name

    def _boot(self, expected='ACTIVE', image=None, **extra):
        body = self._build_server(image_uuid=image or self.image['id'],
                                  flavor_id=self.flavor, networks='none')
        body.update(extra)
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected, max_retries=60)

    def _exec(self, server, *cmd):
        container = self.container(server)['Id']
        ex = self.docker.exec_create(container, list(cmd))
        out = self.docker.exec_start(ex['Id'])
        return self.docker.exec_inspect(ex['Id'])['ExitCode'], out

    def _cat(self, server, path):
        code, out = self._exec(server, 'cat', path)
        self.assertEqual(0, code, out)
        return out

    def _mount(self, server, destination):
        for mount in self.container(server)['Mounts']:
            if mount['Destination'] == destination:
                return mount
        return None

    def _instance_dir(self, server):
        return os.path.join(self.instances_path, server['id'])


class ConfigDriveTest(_FilesTestCase):

    def test_files_match_the_instance(self):
        key = self._keypair()
        server = self._boot(
            name='cd-one', key_name=key, metadata={'role': 'web'},
            user_data=base64.b64encode(USER_DATA).decode())
        self.assertEqual('True', self.api.get_server(server['id'])[
            'config_drive'])

        latest = DRIVE + '/openstack/latest/'
        meta = json.loads(self._cat(server, latest + 'meta_data.json'))
        self.assertEqual(server['id'], meta['uuid'])
        self.assertEqual('cd-one', meta['name'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        self.assertEqual({key: PUBLIC_KEY}, meta['public_keys'])
        self.assertEqual([{'name': key, 'type': 'ssh', 'data': PUBLIC_KEY}],
                         meta['keys'])
        self.assertEqual(USER_DATA, self._cat(server, latest + 'user_data'))
        # Booted without ports: nova's network metadata is empty.
        self.assertEqual({}, json.loads(self._cat(
            server, latest + 'network_data.json')))
        for name in ('vendor_data.json', 'vendor_data2.json'):
            self.assertIsInstance(
                json.loads(self._cat(server, latest + name)), dict)
        # The dated versions cloud-init looks for are there too.
        code, out = self._exec(server, 'ls', DRIVE + '/openstack')
        self.assertEqual(0, code)
        self.assertIn(b'2012-08-10', out.split())

        # [docker] inject_key is off: the key is only in the drive.
        self.assertIsNone(self._mount(server, keys.TARGET))

        mount = self._mount(server, DRIVE)
        self.assertFalse(mount['RW'])
        code, _out = self._exec(server, 'touch', DRIVE + '/x')
        self.assertNotEqual(0, code)

        self._delete_and_check_allocations(server)
        self.assertIsNone(self.container(server))
        self.assertFalse(os.path.exists(self._instance_dir(server)))

    def test_asked_for_or_not(self):
        server = self._boot(config_drive=True)
        meta = json.loads(self._cat(
            server, DRIVE + '/openstack/latest/meta_data.json'))
        self.assertEqual(server['id'], meta['uuid'])
        self.assertNotIn('meta', meta)
        self.assertNotIn('public_keys', meta)

        # No user data, key pair, metadata or request: no drive, no files.
        plain = self._boot()
        self.assertIsNone(self._mount(plain, DRIVE))
        # (The instance directory holds the volumes directory that every
        # container gets, doc/volumes.rst.)
        self.assertEqual(['volumes'], os.listdir(self._instance_dir(plain)))
        self.assertEqual('', self.api.get_server(plain['id'])[
            'config_drive'])

    def test_failed_spawn_leaves_nothing(self):
        # Docker cannot start a command that does not exist: the spawn
        # fails after the config drive was rendered.
        image = self.create_docker_image(command='/no/such/command')
        server = self._boot(expected='ERROR', image=image['id'],
                            user_data=base64.b64encode(b'x').decode())
        self.assertIsNone(self.container(server))
        self.assertFalse(os.path.exists(self._instance_dir(server)))


class InjectKeyTest(_FilesTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(inject_key=True, group='docker')

    def test_key_present_once_after_three_reboots(self):
        server = self._boot(key_name=self._keypair())
        self.assertEqual(PUBLIC_KEY.encode() + b'\n',
                         self._cat(server, keys.TARGET))
        self.assertFalse(self._mount(server, keys.TARGET)['RW'])
        for kind in ('SOFT', 'HARD', 'SOFT'):
            started = self.container(server)['State']['StartedAt']
            self.api.post_server_action(server['id'],
                                        {'reboot': {'type': kind}})
            self.wait_for_status(server, 'ACTIVE')
            self.wait_for(lambda: self.container(server)['State'][
                'StartedAt'] != started, what='the container to restart')
        content = self._cat(server, keys.TARGET)
        self.assertEqual(1, content.count(PUBLIC_KEY.encode()))
        self.assertEqual(PUBLIC_KEY.encode() + b'\n', content)
        # Root (or anything else) in the container cannot change it.
        code, _out = self._exec(server, 'sh', '-c',
                                'echo x >> /root/.ssh/authorized_keys')
        self.assertNotEqual(0, code)

        self._delete_and_check_allocations(server)
        self.assertFalse(os.path.exists(self._instance_dir(server)))

        # No key pair, no file.
        server = self._boot()
        self.assertIsNone(self._mount(server, keys.TARGET))
