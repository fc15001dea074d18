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

"""A fault at each step of spawn, delete, snapshot, reboot and resize,
through Nova's API (doc/reliability.rst has the table).

Docker works here, so each fault is injected at the one place the driver
talks to Docker (``DockerClient``), raising what the client raises when
the engine fails; Glance and the file rendering fail the same way. The
steps before the fault run for real. Each test checks the outcome Nova
shows (aborted or rescheduled: with one host, a reschedule ends in "No
valid host" or "Exceeded maximum number of retries") and that nothing is
left on the host. The network steps are in
tests/integration/test_network_faults.py.
"""

import base64
import shutil
import tempfile

import docker
import fixtures
from nova import exception as nova_exception

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import configdrive
from novadocker.virt.docker import exception
from novadocker.virt.docker.image import glance as image_glance
from novadocker.virt.docker.image import store
from tests.functional import base
from tests.functional import leftovers
from tests import hostile_tarballs as ht

RESCHEDULED = ('No valid host', 'Exceeded maximum number of retries')


def _engine_error(what):
    return exception.DockerServerError(what=what, reason='injected fault')


class FaultsTestCase(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.instances_path = tempfile.mkdtemp(prefix='nd-faults-')
        self.addCleanup(shutil.rmtree, self.instances_path, True)
        self.flags(instances_path=self.instances_path)
        self.flags(allow_resize_to_same_host=True)

    def setUp(self):
        super().setUp()
        self.flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                          ephemeral=0)

    def fail(self, owner, method, error, times=1):
        """``owner.method`` raises ``error`` for its next ``times`` calls,
        then works again.
        """
        real = getattr(owner, method)
        left = [times]

        def faulty(*args, **kwargs):
            if left[0] > 0:
                left[0] -= 1
                raise error
            return real(*args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(owner, method, faulty))
        return left

    def docker_fails(self, method, times=1):
        return self.fail(docker_client.DockerClient, method,
                         _engine_error(method), times)

    def left(self, servers=(), images=()):
        return leftovers.of_host(self.docker, self.host,
                                 self.instances_path,
                                 server_ids=[s['id'] for s in servers],
                                 image_ids=images)

    def _forget_image(self, image_id):
        try:
            self.docker.remove_image(store.image_ref(image_id))
        except docker.errors.NotFound:
            pass

    def data_image(self):
        image = self.create_docker_image(name='faults', data=ht.good())
        self.addCleanup(self._forget_image, image['id'])
        return image['id']


class SpawnFaultsTest(FaultsTestCase):

    def _boot_fails(self, image_id, rescheduled=True, **extra):
        body = self._build_server(image_uuid=image_id,
                                  flavor_id=self.flavor, networks='none')
        body.update(extra)
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ERROR')
        message = server['fault']['message']
        if rescheduled:
            self.assertTrue(any(r in message for r in RESCHEDULED), message)
        else:
            self.assertFalse(any(r in message for r in RESCHEDULED),
                             message)
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], self.left([server], [image_id]))
        return message

    def test_each_step(self):
        # Each step: (what fails, how Nova ends the build).
        image = self.create_docker_image()['id']
        self.docker_fails('inspect_image')
        self._boot_fails(image)                       # image lookup

        data = self.data_image()
        self.fail(image_glance.GlanceImages, 'chunks',
                  nova_exception.GlanceConnectionFailed(
                      server='glance:9292', reason='injected'))
        self._boot_fails(data)                        # download
        self.docker_fails('load_image')
        self._boot_fails(data)                        # load

        self.fail(configdrive, 'render', OSError(28, 'No space left'))
        self._boot_fails(image, user_data=base64.b64encode(b'x').decode())
        self.docker_fails('create_container')
        self._boot_fails(image)                       # container create
        self.docker_fails('start')
        self._boot_fails(image)                       # container start
        # An engine that does not answer: rescheduled too.
        self.fail(docker_client.DockerClient, 'create_container',
                  exception.DockerUnreachable(url='unix:///x',
                                              reason='injected'))
        self._boot_fails(image)


class OperationFaultsTest(FaultsTestCase):
    # A failed operation ends in the server's state, not in the API's
    # answer, as with a real message bus.
    CAST_AS_CALL = False

    def test_delete_retried_after_a_fault(self):
        server = self.boot(self.create_docker_image()['id'], self.flavor)
        self.docker_fails('remove_container')
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'ERROR')
        # The container is still there, and so is the server: no data was
        # lost.  Once Docker works, the delete goes through.
        self.assertIsNotNone(self.container(server))
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], self.left([server]))

    def test_snapshot_upload_fault(self):
        server = self.boot(self.create_docker_image()['id'], self.flavor)
        self.docker_fails('get_image')
        result = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'faulty'}})
        snapshot_id = result['image_id']
        self.addCleanup(self._forget_image, snapshot_id)
        server = self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self.assertTrue(self.container(server)['State']['Running'])
        # Nova deleted the Glance image; the driver its committed image.
        self.assertNotIn(snapshot_id, self.glance.images)
        self.assertEqual([], leftovers.image_tags(self.docker,
                                                  [snapshot_id]))

    def test_reboot_fault_then_hard_reboot(self):
        server = self.boot(self.create_docker_image()['id'], self.flavor)
        self.docker_fails('start')
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'SOFT'}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIsNotNone(self.container(server))
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'HARD'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertTrue(self.container(server)['State']['Running'])

    def test_resize_fault_keeps_the_container(self):
        server = self.boot(self.create_docker_image()['id'], self.flavor)
        bigger = self._create_flavor(memory_mb=96, vcpu=1, disk=1,
                                     ephemeral=0)
        self.docker_fails('update_resources')
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': bigger}})
        server = self._wait_for_state_change(server, 'ERROR')
        info = self.container(server)
        self.assertIsNotNone(info)
        self.assertEqual(64 * 1024 * 1024, info['HostConfig']['Memory'])
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        self.assertEqual([], self.left([server]))
