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

"""Loading an image from a Glance served over real HTTP.

The driver's image source (nova's glance.API, and glanceclient beneath
it) talks to a small HTTP server that answers as Glance's v2 API does; the
tarball then streams into the real Docker engine at ``$DOCKER_HOST``.
Nothing between the driver and the socket is faked: this is the path a
compute node takes.
"""

import hashlib
import uuid

import docker
import nova.conf
from nova import context as nova_context
from nova import exception
from nova.image import glance as nova_glance
from oslo_config import fixture as cfg_fixture
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker.image import glance as image_glance
from novadocker.virt.docker.image import store as image_store
from tests import glance_http
from tests import image_tarballs as tb
from tests import images as test_images

TOKEN = 'token-%s' % uuid.uuid4().hex


@pytest.fixture
def glance_api():
    server = glance_http.FakeGlanceAPI().start()
    conf = cfg_fixture.Config(nova.conf.CONF)
    conf.setUp()
    conf.config(api_servers=[server.url], num_retries=0, group='glance')
    yield server
    conf.cleanUp()
    server.stop()


@pytest.fixture
def context():
    return nova_context.RequestContext('user', 'project', auth_token=TOKEN,
                                       is_admin=False)


@pytest.fixture
def store(docker_url):
    return image_store.ImageStore(
        docker_client.DockerClient(docker_url),
        image_glance.GlanceImages(nova_glance.API()))


class _Counting(object):
    """A hashlib object that counts the bytes it hashes."""

    def __init__(self, hasher, counts):
        self._hasher = hasher
        self._counts = counts

    def update(self, data):
        self._counts[self._hasher.name] = (
            self._counts.get(self._hasher.name, 0) + len(data))
        self._hasher.update(data)

    def __getattr__(self, name):
        return getattr(self._hasher, name)


@pytest.fixture
def hashed(monkeypatch):
    """Bytes hashed per algorithm by anyone in this process."""
    counts = {}
    real_new = hashlib.new
    monkeypatch.setattr(hashlib, 'new', lambda name, *args, **kwargs:
                        _Counting(real_new(name, *args, **kwargs), counts))
    return counts


def _image(marker):
    layer = test_images.busybox_rootfs({'/marker': marker.encode()})
    config = tb.config([tb.sha256(layer)], cmd=('/bin/cat', '/marker'))
    return (tb.docker_archive([layer], config_bytes=config,
                              repo_tags=['http:latest']), tb.image_id(config))


def _remove(docker_api, *refs):
    for ref in refs:
        try:
            docker_api.remove_image(ref)
        except Exception:   # best effort clean-up after the test
            pass


# Glance's hashing_algorithm: sha512 by default, sha256 in many clouds.
ALGOS = ['sha512', 'sha256']


@pytest.mark.parametrize('algo', ALGOS)
def test_image_streams_from_glance_over_http(docker_api, glance_api,
                                             context, store, tmp_path,
                                             hashed, algo):
    data, loaded = _image('http-%s' % uuid.uuid4())
    (tmp_path / 'image.tar').write_bytes(data)
    image_id = glance_api.add(path=str(tmp_path / 'image.tar'),
                              name='Any Name (v2)', algo=algo)
    assert glance_api.images[image_id][0]['os_hash_algo'] == algo
    try:
        ref = store.load(context, image_id)
        assert ref == image_store.image_ref(image_id)
        assert test_images.config_digest(docker_api, ref) == loaded
    finally:
        _remove(docker_api, image_store.image_ref(image_id), loaded)
    # The data was fetched once, with the user's token, and hashed once:
    # by glanceclient, against Glance's os_hash_value with its
    # os_hash_algo, on its way into Docker.
    data_path = '/v2/images/%s/file' % image_id
    assert [r for r in glance_api.requests if r[0] == data_path] == [
        (data_path, TOKEN)]
    assert hashed == {algo: len(data)}


@pytest.mark.parametrize('algo', ALGOS)
def test_checksum_mismatch_over_http_is_unacceptable_and_loads_nothing(
        docker_api, glance_api, context, store, algo):
    data, loaded = _image('http-bad-%s' % uuid.uuid4())
    sums = glance_http.digests(data, algo=algo)
    # One bit off: the right length, the wrong digest.
    wrong = '%x' % (int(sums['os_hash_value'], 16) ^ 1)
    image_id = glance_api.add(data, **dict(
        sums, os_hash_value=wrong.zfill(len(sums['os_hash_value']))))
    try:
        with pytest.raises(exception.ImageUnacceptable) as e:
            store.load(context, image_id)
        assert '%s checksum mismatch' % algo in str(e.value)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_api.inspect_image(loaded)
    finally:
        _remove(docker_api, image_store.image_ref(image_id), loaded)


def test_data_gone_from_glance_is_image_not_found(glance_api, context,
                                                  store):
    image_id = glance_api.add(b'x' * 10)
    glance_api.gone.add(image_id)
    with pytest.raises(exception.ImageNotFound):
        store.load(context, image_id)


def test_image_without_data_is_unacceptable(glance_api, context, store):
    image_id = glance_api.add(None)
    with pytest.raises(exception.ImageUnacceptable):
        store.load(context, image_id)
