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

"""Images from a private registry, through Nova's API on a real engine.

A real registry (Debian's ``docker-registry``, TLS from a test CA, basic
auth) runs on loopback; the test image is pushed to it through the engine
and removed locally, so that a boot must pull it. A Glance image without
data names it in ``docker_image_ref``.
"""

import os
import shutil

import docker

from novadocker.virt.docker.image import store
from tests.functional import base
from tests import images as test_images
from tests import registry as test_registry


class RegistryTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.registry = self.useFixture(test_registry.Registry())
        self.flags(registry_auth_file=self.registry.auth_file,
                   group='docker')
        self.flavor = self.create_flavor()
        self.addCleanup(self._remove_our_images)

    def _push(self, marker, tag='v1'):
        """A unique image in the registry; gone from the engine."""
        local = test_images.import_rootfs(
            self.docker, test_images.busybox_rootfs(
                {'/marker': marker.encode()}), 'novadocker-test/push',
            marker)
        image_id = self.docker.inspect_image(local)['Id']
        try:
            pinned = self.registry.push(self.docker, local, 'team/app', tag)
        finally:
            self.docker.remove_image(local)
        return pinned, image_id

    def _glance(self, ref, **props):
        return self.create_docker_image(name='registry image', data=b'',
                                        docker_image_ref=ref, **props)

    def _remove_our_images(self):
        base.remove_containers(self.docker, self.host)
        for image in self.docker.images(all=True):
            for name in (image.get('RepoTags') or []) + (
                    image.get('RepoDigests') or []):
                if (name.startswith(self.registry.address) or
                        name.startswith(store.REPOSITORY + ':') and
                        name[len(store.REPOSITORY) + 1:] in self._ids):
                    try:
                        self.docker.remove_image(name)
                    except docker.errors.NotFound:
                        pass

    @property
    def _ids(self):
        return set(self.glance.images)

    def _engine_images(self):
        return sorted((i['Id'], tuple(sorted(i.get('RepoTags') or ())),
                       tuple(sorted(i.get('RepoDigests') or ())))
                      for i in self.docker.images(all=True))

    def _refused(self, image, text):
        before = self._engine_images()
        server = self.boot(image['id'], self.flavor, expected='ERROR')
        fault = server['fault']['message']
        self.assertIn('is unacceptable', fault)
        self.assertIn(text, fault)
        self.assertIsNone(self.container(server))
        self.assertEqual(before, self._engine_images())
        return fault

    def test_boot_pulls_the_digest_and_tags_only_when_allowed(self):
        pinned, image_id = self._push(self.host)
        image = self._glance(pinned)
        server = self.boot(image['id'], self.flavor)

        info = self.container(server)
        self.assertEqual(image_id, info['Image'])
        ours = store.image_ref(image['id'])
        self.assertEqual(image_id, self.docker.inspect_image(ours)['Id'])
        # Only our name holds it: the image cache can prune it.
        names = [t for i in self.docker.images(all=True)
                 for t in i.get('RepoTags') or ()
                 if t.startswith(self.registry.address)]
        self.assertEqual([], names)
        exec_id = self.docker.exec_create(info['Id'], ['cat', '/marker'])
        self.assertEqual(self.host.encode(),
                         self.docker.exec_start(exec_id['Id']))

        # A tag instead of a digest: refused, unless the operator allows.
        pinned, image_id = self._push(self.host + '-tag', tag='v2')
        tagged = pinned.split('@')[0] + ':v2'
        self._refused(self._glance(tagged), 'names no digest')
        self.flags(registry_allow_tags=True, group='docker')
        server = self.boot(self._glance(tagged)['id'], self.flavor)
        self.assertEqual(image_id, self.container(server)['Image'])

    def test_refusals_leave_nothing_in_the_engine(self):
        pinned, _image_id = self._push(self.host)
        other, _other_id = self._push(self.host + '-other', tag='v3')

        # Without credentials for the registry (Nova keeps 255 characters
        # of the engine's "no basic auth credentials").
        self.flags(registry_auth_file=None, group='docker')
        self._refused(self._glance(pinned), 'cannot pull it')
        # With wrong ones.
        self.flags(registry_auth_file=self.registry.write_auth_file(
            'wrong', 'wrong.json'), group='docker')
        self._refused(self._glance(pinned), 'unauthorized')
        self.flags(registry_auth_file=self.registry.auth_file,
                   group='docker')

        # A registry that does not answer.
        digest = pinned.split('@')[1]
        gone = '%s:%d/team/app@%s' % (
            self.registry.ip, test_registry.free_port(self.registry.ip),
            digest)
        self._refused(self._glance(gone), 'connection refused')

        # A certificate the engine does not trust.
        os.rename(self.registry.certs, self.registry.certs + '.off')
        try:
            self._refused(self._glance(pinned), 'certificate')
        finally:
            os.rename(self.registry.certs + '.off', self.registry.certs)

        # The registry serves other content under the digest.
        shutil.copy(self.registry.blob_path(other.split('@')[1]),
                    self.registry.blob_path(digest))
        self._refused(self._glance(pinned), 'verification failed')

        # An image with data as well as a reference.
        self._refused(self.create_docker_image(
            name='both', data=b'x', docker_image_ref=pinned),
            'one or the other')
