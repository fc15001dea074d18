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

"""The Docker engine dies (SIGKILL, for real) in the middle of an
operation, and is started again at once, as systemd would
(doc/reliability.rst, "Faults at every step").

Each test runs its own dockerd and kills it at a real hook point: when
the driver's client enters a given call, or while an image streams from
Glance into the engine, or from the engine into Glance. The operation
must end as Nova needs it (a build rescheduled, a delete or a snapshot
failed, the server usable again), without hanging, and once the engine
is back the server can be deleted or built again and nothing is left
on the host.
"""

import docker
import fixtures

from novadocker.virt.docker.image import store
from tests.functional import base
from tests.functional import glance
from tests.functional import leftovers
from tests.functional import restart_support

RESCHEDULED = ('No valid host', 'Exceeded maximum number of retries')
# Every wait of these tests, in seconds: none of them may hang.
BOUND = 120
# Bytes written before the snapshot: more than the save reads ahead.
FILL = 48 * 1024 * 1024


class _EngineKillTestCase(restart_support.PrivateEngineMixin,
                          restart_support.UniqueBridgePorts,
                          base.DockerFunctionalTestCase):
    # A failed operation ends in the server's state, as with a real
    # message bus.
    CAST_AS_CALL = False

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(engine_return_timeout=60, group='docker')

    def setUp(self):
        super().setUp()
        self.setup_ovs_ports()
        self.flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                          ephemeral=0)

    def kill_on(self, method, when=None):
        return restart_support.KillEngine(self.engine, method, when)

    def left(self, servers=(), images=(), ports=()):
        return leftovers.of_host(
            self.docker, self.host, base.test.CONF.instances_path,
            server_ids=[s['id'] for s in servers], image_ids=images,
            port_ids=ports) + ['ovs port %s' % p for p in self.ovs_ports()]

    def wait_state(self, server, status):
        return self._wait_for_state_change(server, status,
                                           max_retries=BOUND * 2)

    def delete(self, server):
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)

    def boot_ok(self, image_id, index):
        port = self._port(index)
        server = self.wait_state(self.boot_with_port(
            image_id, self.flavor, port), 'ACTIVE')
        return server, port


class SpawnKillTest(_EngineKillTestCase):

    def boot_fails(self, image_id, kill, index):
        """A build that the killed engine fails: rescheduled, and, once
        the engine is back, deleted without leaving anything.
        """
        port = self._port(index)
        server = self.wait_state(self.boot_with_port(image_id, self.flavor,
                                                     port), 'ERROR')
        self.assertTrue(kill.killed.is_set())
        message = server['fault']['message']
        self.assertTrue(any(r in message for r in RESCHEDULED), message)
        kill.wait_restarted()
        self.delete(server)
        self.assertEqual([], self.left([server], [image_id], [port]))

    def test_engine_dies_at_container_create_and_during_image_load(self):
        # The port's files are ready; the engine dies as the server's
        # container is created.
        with restart_support.KillEngine(
                self.engine, 'create_container',
                lambda **args: args['name'].startswith('nova-')) as kill:
            self.boot_fails(self.create_docker_image()['id'], kill, 30)

        # The engine dies once it has the first MiB of an image that
        # streams from Glance.
        data = b''.join(self.docker.get_image(self.busybox))
        self.assertGreater(len(data), glance.CHUNK)
        image_id = self.create_docker_image(name='killed-load',
                                            data=data)['id']
        self.addCleanup(self._untag, image_id)
        chunks = self.glance._chunks
        with restart_support.KillEngine(self.engine) as kill:
            def slow_chunks(image_id):
                for i, chunk in enumerate(chunks(image_id)):
                    if i == 1:
                        kill.kill_now()
                    yield chunk
            with fixtures.MockPatchObject(self.glance, '_chunks',
                                          slow_chunks):
                self.boot_fails(image_id, kill, 31)

        # Loaded and built again once the engine is back.
        again, port = self.boot_ok(image_id, 32)
        self.delete(again)
        self.assertEqual([], self.left([again], ports=[port]))

    def _untag(self, image_id):
        try:
            self.docker.remove_image(store.image_ref(image_id))
        except docker.errors.DockerException:
            pass


class OperationKillTest(_EngineKillTestCase):

    def test_engine_dies_during_snapshot_then_during_delete(self):
        server, port = self.boot_ok(self.create_docker_image()['id'], 40)
        # More data than the driver reads ahead of the upload (a few MiB),
        # so that the engine is still streaming ``docker save`` when it
        # dies.
        self.assertEqual(0, restart_support.exec_in(
            self.docker, self.container(server)['Id'], 'sh', '-c',
            'head -c %d /dev/urandom > /fill' % FILL)[0])

        # The engine dies while ``docker save`` streams into Glance.
        update = self.glance.update
        with restart_support.KillEngine(self.engine) as kill:
            def slow_update(context, image_id, metadata, data=None,
                            **kwargs):
                if data is not None:
                    data = _KillAfterFirstRead(data, kill)
                return update(context, image_id, metadata, data=data,
                              **kwargs)
            with fixtures.MockPatchObject(self.glance, 'update',
                                          slow_update):
                snapshot_id = self.api.post_server_action(
                    server['id'],
                    {'createImage': {'name': 'killed'}})['image_id']
                self.addCleanup(SpawnKillTest._untag, self, snapshot_id)
                # The snapshot failed: Nova deleted its Glance image, the
                # driver its committed image once the engine answered.
                self.wait_for(lambda: snapshot_id not in self.glance.images,
                              timeout=BOUND,
                              what='the snapshot image deleted')
            self.assertTrue(kill.killed.is_set())
        self.wait_for(lambda: self.api.get_server(server['id'])[
            'OS-EXT-STS:task_state'] is None, timeout=BOUND,
            what='the server to settle')
        self.assertEqual([], leftovers.image_tags(self.docker,
                                                  [snapshot_id]))

        # The engine dies as the container is removed: the delete fails,
        # nothing is lost, and the next delete removes everything.
        with self.kill_on('remove_container') as kill:
            self.api.delete_server(server['id'])
            server = self.wait_state(server, 'ERROR')
            self.assertTrue(kill.killed.is_set())
        self.assertIsNotNone(self.container(server))
        self.delete(server)
        self.assertEqual([], self.left([server], ports=[port]))


class _KillAfterFirstRead(object):
    """An upload body that kills the engine once Glance read its first
    chunk from it (the engine is streaming ``docker save`` then).
    """

    def __init__(self, body, kill):
        self._body = body
        self._kill = kill
        self._reads = 0

    def read(self, size=-1):
        chunk = self._body.read(size)
        self._reads += 1
        if self._reads == 1:
            self._kill.kill_now()
        return chunk
