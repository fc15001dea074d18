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

"""``openstack server set --root-password`` (``changePassword``) on a
real engine: the image's ``chpasswd`` reads ``root:<password>`` on its
stdin through the engine's exec."""

from nova.tests.functional.api import client

from tests.functional import base
from tests import images as test_images

# busybox-static has no chpasswd applet: the test image carries a small
# one that does what chpasswd does (user:password lines on stdin, the
# password file replaced at once) with busybox's mkpasswd.
CHPASSWD = b'''#!/bin/sh
set -e
/bin/busybox cp /etc/shadow /etc/shadow.new
while IFS= read -r line; do
    user=${line%%:*}
    pass=${line#*:}
    hash=$(printf '%s\\n' "$pass" | /bin/busybox mkpasswd -m sha512)
    /bin/busybox sed -i "s|^$user:[^:]*:|$user:$hash:|" /etc/shadow.new
done
/bin/busybox mv /etc/shadow.new /etc/shadow
'''
FILES = {'/bin/chpasswd': CHPASSWD,
         '/etc/passwd': b'root:x:0:0:root:/root:/bin/sh\n',
         '/etc/shadow': b'root:*:19000:0:99999:7:::\n'}
PASSWORD = 'a "secret"; $(rm -rf /) with: colon'


class AdminPasswordTest(base.DockerFunctionalTestCase):

    def _exec(self, server, *cmd):
        ref = self.container(server)['Id']
        exec_id = self.docker.exec_create(ref, list(cmd))['Id']
        out = self.docker.exec_start(exec_id).decode()
        return self.docker.exec_inspect(exec_id)['ExitCode'], out

    def _remove_image(self, ref):
        base.remove_containers(self.docker, self.host)
        self.docker.remove_image(ref)

    def _set(self, server, password):
        return self.api.post_server_action(
            server['id'], {'changePassword': {'adminPass': password}})

    def _boot_image(self, files, name):
        ref = test_images.import_rootfs(
            self.docker, test_images.busybox_rootfs(files),
            'novadocker-test/' + name, self.host)
        self.addCleanup(self._remove_image, ref)
        return self.boot(self.create_docker_image(name=ref)['id'],
                         self.create_flavor())

    def test_root_password_is_set(self):
        server = self._boot_image(FILES, 'chpasswd')
        self._set(server, PASSWORD)

        code, shadow = self._exec(server, 'cat', '/etc/shadow')
        stored = shadow.split(':')[1]
        self.assertTrue(stored.startswith('$6$'), shadow)
        salt = stored.split('$')[2]
        code, again = self._exec(server, 'busybox', 'mkpasswd', '-m',
                                 'sha512', '-S', salt, PASSWORD)
        self.assertEqual(stored, again.strip())
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])[
            'status'])

    def test_image_without_chpasswd_is_not_supported(self):
        # A root account, but no chpasswd.
        files = {k: v for k, v in FILES.items() if k != '/bin/chpasswd'}
        server = self._boot_image(files, 'no-chpasswd')
        error = self.assertRaises(client.OpenStackApiException, self._set,
                                  server, PASSWORD)
        self.assertEqual(409, error.response.status_code)
        self.assertIn('not supported', str(error))
        # Nothing was written.
        self.assertEqual((0, FILES['/etc/shadow'].decode()),
                         self._exec(server, 'cat', '/etc/shadow'))
        self.assertNotEqual(0, self._exec(server, 'sh', '-c',
                                          'ls /etc/*.new')[0])
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])[
            'status'])
