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

"""Booting Glance images that Docker does not have yet, through Nova's API.

The image data lives only in (streaming) Glance; the driver must stream it
into Docker, check it, tag it ``nova-image:<glance id>`` and boot it. Bad
data must fail the build for good (no reschedule) and leave nothing in
Docker.
"""

import uuid

import docker

from novadocker.virt.docker.image import store
from tests.functional import base
from tests.functional import test_snapshot
from tests import image_tarballs as tb
from tests import images as test_images


class GlanceImagesTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.flavor = self.create_flavor()
        self.marker = 'glance-%s' % uuid.uuid4()

    def _tarball(self, repo_tags):
        layer = test_images.busybox_rootfs(
            {'/marker': self.marker.encode()})
        config = tb.config([tb.sha256(layer)])
        return (tb.docker_archive([layer], config_bytes=config,
                                  repo_tags=repo_tags),
                tb.image_id(config))

    def _forget(self, *refs):
        """At the end: our containers first (they hold the images)."""
        def cleanup():
            base.remove_containers(self.docker, self.host)
            for ref in refs:
                try:
                    self.docker.remove_image(ref)
                except docker.errors.NotFound:
                    pass
        self.addCleanup(cleanup)

    def _has(self, ref):
        try:
            self.docker.inspect_image(ref)
        except docker.errors.NotFound:
            return False
        return True

    def test_boot_image_missing_from_docker(self):
        tarball_tag = 'i4-func-%s:v1' % uuid.uuid4().hex[:8]
        data, loaded = self._tarball([tarball_tag])
        image = self.create_docker_image(name='Mixed Case Ümlaut Name',
                                         data=data)
        self._forget(store.image_ref(image['id']), loaded)
        self.assertFalse(self._has(loaded))

        server = self.boot(image['id'], self.flavor)

        info = self.container(server)
        self.assertTrue(info['State']['Running'])
        ref = store.image_ref(image['id'])
        self.assertEqual(self.docker.inspect_image(ref)['Id'], info['Image'])
        self.assertEqual(loaded, test_images.config_digest(self.docker, ref))
        self.assertFalse(self._has(tarball_tag))
        code, out = test_snapshot.docker_exec(self.docker, info['Id'],
                                              'cat', '/marker')
        self.assertEqual((0, self.marker), (code, out))

    def _assert_refused(self, image, loaded=None):
        server = self.boot(image['id'], self.flavor, expected='ERROR')
        fault = self.api.get_server(server['id'])['fault']
        # ImageUnacceptable aborts the build on this host; a reschedule
        # would end in "Exceeded maximum number of retries" instead.
        self.assertIn('Image %s is unacceptable' % image['id'],
                      fault['message'])
        self.assertIsNone(self.container(server))
        self.assertFalse(self._has(store.image_ref(image['id'])))
        if loaded:
            self.assertFalse(self._has(loaded))

    def test_checksum_mismatch_is_refused_and_leaves_nothing(self):
        data, loaded = self._tarball(['i4-func-bad:v1'])
        image = self.create_docker_image(name='bad-checksum', data=data)
        self.glance.images[image['id']]['checksum'] = '0' * 32
        self._forget(store.image_ref(image['id']), loaded)
        self._assert_refused(image, loaded)
        self.assertFalse(self._has('i4-func-bad:v1'))

    def test_not_a_docker_tarball_is_refused(self):
        data = tb.layer_tar({'etc/passwd': b'root:x:0:0::/root:/bin/sh\n'})
        image = self.create_docker_image(name='not-an-image', data=data)
        self._forget(store.image_ref(image['id']))
        self._assert_refused(image)
