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

"""Booting under nova's own, unmodified ``GlanceFixture``.

Third-party drivers' functional tests use nova's fixture as it is: it
replaces nova's image API (``nova.image.glance.API``) and knows nothing of
glanceclient. The driver reads Glance only through that API, so an image
whose data lives in the fixture boots.
"""

import io
import uuid

from nova.tests.fixtures import glance as glance_fixtures

from novadocker.virt.docker.image import store
from tests.functional import base
from tests.functional import test_snapshot
from tests import image_tarballs as tb
from tests import images as test_images


class NovaGlanceFixtureTest(base.DockerFunctionalTestCase):
    GLANCE_FIXTURE = glance_fixtures.GlanceFixture

    def test_boots_an_image_that_docker_does_not_have(self):
        marker = 'nova-glance-%s' % uuid.uuid4()
        layer = test_images.busybox_rootfs({'/marker': marker.encode()})
        config = tb.config([tb.sha256(layer)])
        data = tb.docker_archive([layer], config_bytes=config)
        image = self.glance.create(None, {
            'name': 'from nova fixture', 'container_format': 'docker',
            'disk_format': 'raw', 'visibility': 'public', 'size': len(data),
            'properties': {'os_command_line': base.KEEP_RUNNING}},
            data=io.BytesIO(data))
        ref = store.image_ref(image['id'])
        self.addCleanup(self._forget, ref)

        server = self.boot(image['id'], self.create_flavor())

        info = self.container(server)
        self.assertEqual(self.docker.inspect_image(ref)['Id'], info['Image'])
        code, out = test_snapshot.docker_exec(self.docker, info['Id'],
                                              'cat', '/marker')
        self.assertEqual((0, marker), (code, out))

    def _forget(self, ref):
        base.remove_containers(self.docker, self.host)
        self.docker.remove_image(ref)
