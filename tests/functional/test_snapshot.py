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

"""Snapshot a server through Nova's API and boot a new server from it."""

import io
import json
import tarfile

import docker

from novadocker.virt.docker.image import store
from tests.functional import base

MARKER = '/root/marker'
MARKER_TEXT = 'written-before-snapshot'


def docker_exec(api, container, *cmd):
    """Run ``cmd`` in ``container``; returns (exit code, output)."""
    exec_id = api.exec_create(container, list(cmd))['Id']
    output = api.exec_start(exec_id)
    return api.exec_inspect(exec_id)['ExitCode'], output.decode()


def layer_file(tarball, path):
    """The content of ``path`` in the newest layer of a ``docker save``
    tarball that holds it, or None; also returns the manifest.
    """
    with tarfile.open(fileobj=io.BytesIO(tarball)) as outer:
        manifest = json.load(outer.extractfile('manifest.json'))
        for layer in reversed(manifest[0]['Layers']):
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                try:
                    member = inner.extractfile(path.lstrip('/'))
                except KeyError:
                    continue
                return manifest, member.read().decode()
    return manifest, None


class SnapshotTest(base.DockerFunctionalTestCase):

    def _remove_local_image(self, ref):
        # Containers first: an image in use cannot be removed.
        base.remove_containers(self.docker, self.host)
        try:
            self.docker.remove_image(ref)
        except docker.errors.NotFound:
            pass

    def test_snapshot_and_boot_from_it(self):
        image = self.create_docker_image()
        flavor = self.create_flavor()
        server = self.boot(image['id'], flavor)
        code, out = docker_exec(self.docker, self.container(server)['Id'],
                                'sh', '-c', 'echo %s > %s' % (MARKER_TEXT,
                                                              MARKER))
        self.assertEqual(0, code, out)

        result = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap-of-web'}})
        snapshot_id = result['image_id']
        local_ref = store.image_ref(snapshot_id)
        self.addCleanup(self._remove_local_image, local_ref)

        snapshot = self.wait_for(
            lambda: (lambda i: i if i['status'] == 'active' else None)(
                self.glance.show(None, snapshot_id)),
            what='snapshot image to become active')
        self.assertEqual('docker', snapshot['container_format'])
        self.assertEqual('raw', snapshot['disk_format'])
        self.assertEqual('snap-of-web', snapshot['name'])
        server = self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self.assertTrue(self.container(server)['State']['Running'])

        # What reached Glance is a docker-save tarball holding the file.
        data = self.glance.image_data(snapshot_id)
        self.assertEqual(len(data), snapshot['size'])
        manifest, text = layer_file(data, MARKER)
        self.assertEqual([local_ref], manifest[0]['RepoTags'])
        self.assertEqual(MARKER_TEXT + '\n', text)

        second = self.boot(snapshot_id, flavor)
        info = self.container(second)
        self.assertEqual(local_ref, info['Config']['Image'])
        code, out = docker_exec(self.docker, info['Id'], 'cat', MARKER)
        self.assertEqual((0, MARKER_TEXT + '\n'), (code, out))
