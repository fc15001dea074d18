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

"""A snapshot taken on one engine boots on another: two hosts, one Glance.

The first compute host uses the engine at ``$DOCKER_HOST``; the second a
private engine of the other kind: Docker 26.1 with the containerd image
store next to Debian 12's Docker 20.10, and Docker 20.10 next to Docker
26.1 (graph-driver store). So CI, which runs this on both engines, carries
snapshots 20.10 -> 26.1 (both stores) and back, and rescues a server on
both stores.
"""

import docker
from nova.virt import node as nova_node
from oslo_utils import uuidutils

from novadocker.virt.docker.image import store
from tests import engines
from tests.functional import base
from tests.functional import test_snapshot

MARKER = '/root/marker'


class CrossEngineSnapshotTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        if engines.current() == 'docker26':
            other = engines.PrivateEngine('system')
        else:
            other = engines.PrivateEngine('docker26', containerd_store=True)
        self.other = self.useFixture(other)
        self.other_host = 'nd-%s' % uuidutils.generate_uuid()[:12]
        self.addCleanup(base.remove_containers, self.other.api,
                        self.other_host)
        main_url = base.docker_host()
        # Each nova-compute has a node identity of its own (compute_id in
        # its state_path); the test fixture keeps one per process: make
        # the second compute generate its own.
        nova_node.LOCAL_NODE_UUID = None
        self.flags(host_url=self.other.url, group='docker')
        self.other_compute = self._start_compute(self.other_host)
        self.flags(host_url=main_url, group='docker')
        self.flavor = self.create_flavor()

    def _boot_on(self, host, image_id):
        body = self._build_server(image_uuid=image_id,
                                  flavor_id=self.flavor, networks='none',
                                  host=host)
        server = self.api.post_server({'server': body})
        server = self._wait_for_state_change(server, 'ACTIVE',
                                             max_retries=60)
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        return server

    def _snapshot(self, server, name):
        snapshot_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': name}})['image_id']
        self.wait_for(
            lambda: self.glance.show(None, snapshot_id)['status'] == 'active',
            what='snapshot %s to become active' % snapshot_id)
        self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        return snapshot_id

    def _write(self, api, server, text):
        code, out = test_snapshot.docker_exec(
            api, self._container_id(api, server), 'sh', '-c',
            'echo %s >> %s' % (text, MARKER))
        self.assertEqual(0, code, out)

    def _read(self, api, server):
        code, out = test_snapshot.docker_exec(
            api, self._container_id(api, server), 'cat', MARKER)
        self.assertEqual(0, code, out)
        return out

    @staticmethod
    def _container_id(api, server):
        return api.inspect_container('nova-%s' % server['id'])['Id']

    def test_snapshots_boot_on_the_other_engine_and_back(self):
        # A docker save of the main engine's busybox, under a Glance name
        # that neither engine knows: both load it from Glance.
        tarball = b''.join(self.docker.get_image(self.busybox))
        image = self.create_docker_image(name='Busybox from Glance',
                                         data=tarball)
        first = self._boot_on(self.host, image['id'])
        self._write(self.docker, first, 'main')

        there_id = self._snapshot(first, 'taken-on-main')
        there = self._boot_on(self.other_host, there_id)
        self.assertEqual('main\n', self._read(self.other.api, there))
        self.assertEqual(store.image_ref(there_id), self.other.api
                         .inspect_container('nova-%s' % there['id'])
                         ['Config']['Image'])

        self._write(self.other.api, there, 'other')
        back_id = self._snapshot(there, 'taken-on-other')
        back = self._boot_on(self.host, back_id)
        self.assertEqual('main\nother\n', self._read(self.docker, back))
        self.addCleanup(self._forget, there_id, back_id)

        self._rescue_on_the_other_engine(there)

    def _rescue_on_the_other_engine(self, server):
        """Rescue on the other engine, whose storage (containerd's
        overlayfs snapshotter, or overlay2) the rescue reads: a file
        fixed under /rescue is in the server after unrescue, and the rest
        of its root is as it was.
        """
        self.api.post_server_action(server['id'], {'rescue': None})
        server = self._wait_for_state_change(server, 'RESCUE')
        rescuer = self.other.api.inspect_container(
            'nova-%s-rescue' % server['id'])['Id']
        code, out = test_snapshot.docker_exec(
            self.other.api, rescuer, 'sh', '-c',
            'cat /rescue%s && echo fixed > /rescue/root/fixed' % MARKER)
        self.assertEqual((0, 'main\nother\n'), (code, out))
        server = self._unrescue_server(server)
        self.assertEqual('main\nother\n', self._read(self.other.api, server))
        code, out = test_snapshot.docker_exec(
            self.other.api, self._container_id(self.other.api, server),
            'cat', '/root/fixed')
        self.assertEqual((0, 'fixed\n'), (code, out))
        self.assertEqual([], [c for c in self.other.api.containers(all=True)
                              if c['Names'][0].endswith('-rescue')])

    def _forget(self, *image_ids):
        """Remove the snapshots' images from the main engine (the other
        one goes away with its directory); their containers first.
        """
        base.remove_containers(self.docker, self.host)
        for image_id in image_ids:
            try:
                self.docker.remove_image(store.image_ref(image_id))
            except docker.errors.NotFound:
                pass
