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

"""``openstack aggregate cache image`` (API 2.81, ``cache_image``) on a
real engine: the image is loaded from Glance through the checked
streaming path of a first boot, before any boot asks for it."""

import uuid

import docker

from novadocker.virt.docker.image import store
from tests.functional import base
from tests import image_tarballs as tb
from tests import images as test_images


class CacheImageTest(base.DockerFunctionalTestCase):

    microversion = '2.81'

    def setUp(self):
        super().setUp()
        self.flavor = self.create_flavor()

    def _tarball(self, repo_tags):
        layer = test_images.busybox_rootfs({'/marker': self.host.encode()})
        config = tb.config([tb.sha256(layer)])
        return (tb.docker_archive([layer], config_bytes=config,
                                  repo_tags=repo_tags),
                tb.image_id(config))

    def _forget(self, *refs):
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

    def _aggregate(self):
        agg = self.api.post_aggregate(
            {'aggregate': {'name': 'cache-%s' % self.host}})
        self.api.add_host_to_aggregate(agg['id'], self.host)
        return agg

    def _cache(self, agg, image):
        self.api.api_post('/os-aggregates/%s/images' % agg['id'],
                          {'cache': [{'id': image['id']}]})

    def _said(self, text):
        return text in self.stdlog.logger.output

    def test_cache_then_existing_then_boot(self):
        tag = 'cache-func-%s:v1' % uuid.uuid4().hex[:8]
        data, loaded = self._tarball([tag])
        image = self.create_docker_image(name='Cached image', data=data)
        self._forget(store.image_ref(image['id']), loaded)
        agg = self._aggregate()

        self._cache(agg, image)
        self.assertEqual(loaded, self.docker.inspect_image(
            store.image_ref(image['id']))['Id'])
        self.assertTrue(self._said('1 cached, 0 existing, 0 errors'))
        self.assertFalse(self._has(tag))

        self._cache(agg, image)
        self.assertTrue(self._said('0 cached, 1 existing, 0 errors'))

        reads = self.glance.reads
        server = self.boot(image['id'], self.flavor)
        self.assertEqual(loaded, self.container(server)['Image'])
        self.assertEqual(reads, self.glance.reads)

    def test_bad_checksum_is_an_error_and_leaves_nothing(self):
        data, loaded = self._tarball(['cache-func-bad:v1'])
        image = self.create_docker_image(name='bad-cache', data=data)
        self.glance.images[image['id']]['checksum'] = '0' * 32
        self._forget(store.image_ref(image['id']), loaded)

        self._cache(self._aggregate(), image)
        self.assertTrue(self._said('0 cached, 0 existing, 1 errors'))
        self.assertFalse(self._has(store.image_ref(image['id'])))
        self.assertFalse(self._has(loaded))
