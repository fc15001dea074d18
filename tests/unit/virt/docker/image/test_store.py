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

"""store.ImageStore against Docker faked at the HTTP layer and a fake of
nova's image API (``get`` and ``download(data=...)``, checked as
glanceclient checks)."""

import hashlib
import json
import threading

from nova import exception
from nova import objects
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import exception as docker_exception
from novadocker.virt.docker.image import glance
from novadocker.virt.docker.image import store
from tests import glance_data
from tests import image_tarballs as tb
from tests.unit.virt.docker import docker_http
from tests.unit.virt.docker import test_client

IMAGE_ID = '7c0c4a8e-0000-4000-8000-00000000000a'
LAYER = tb.layer_tar({'bin/sh': b'#!x'})
TARBALL = tb.docker_archive([LAYER], repo_tags=['busybox:latest'])
LOADED = tb.image_id(tb.config([tb.sha256(LAYER)]))


class FakeImageAPI(object):
    def __init__(self, data, **meta):
        self.data = data
        self.meta = dict(id=IMAGE_ID, size=len(data), **meta)
        self.downloads = 0

    def get(self, context, image_id):
        assert image_id == IMAGE_ID
        return dict(self.meta)

    def download(self, context, image_id, data=None, trusted_certs=None):
        self.downloads += 1
        glance_data.write_checked(
            data, [self.data[i:i + 1000]
                   for i in range(0, len(self.data), 1000)], self.meta)


@pytest.fixture
def http():
    fixture = docker_http.DockerHTTP()
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def _meta(name='Busybox'):
    return objects.ImageMeta.from_dict({
        'id': IMAGE_ID, 'name': name, 'container_format': 'docker',
        'disk_format': 'raw', 'properties': {}})


def _store(api, shared_directory=None, by_name=True):
    return store.ImageStore(docker_client.DockerClient(docker_http.URL),
                            glance.GlanceImages(api), shared_directory,
                            by_name)


def _missing(http, ref):
    http.on('GET', '/images/%s/json' % ref, status_code=404,
            json={'message': 'No such image'})


def _missing_until_loaded(http):
    """nova-image:<id> is missing, then (after the load) there."""
    http.on('GET', '/images/nova-image:%s/json' % IMAGE_ID, response_list=[
        {'status_code': 404, 'json': {'message': 'No such image'}},
        {'status_code': 404, 'json': {'message': 'No such image'}},
        {'json': {'Id': LOADED,
                  'RepoTags': ['nova-image:' + IMAGE_ID]}}])
    # The re-tag that records the load time for the image cache.
    http.on('POST', '/images/nova-image:%s/tag' % IMAGE_ID, status_code=201)


def _loaded_manifest(received):
    body = received['body']
    return json.loads(body[body.rindex(b'[{'):].split(b'\0', 1)[0])


def _received(http):
    """Docker's side of the load: reads the streamed body."""
    bodies = []
    http.on('POST', '/images/load', raw=test_client.streamed(
        docker_http.json_lines({'stream': 'Loaded image ID: %s\n' % LOADED}),
        received=bodies))
    return _Received(bodies)


class _Received(object):
    def __init__(self, bodies):
        self._bodies = bodies

    def get(self, key, default=None):
        return self._bodies[0] if self._bodies else default

    def __getitem__(self, key):
        return self._bodies[0]


def test_found_by_glance_id_first(http):
    http.on('GET', '/images/nova-image:%s/json' % IMAGE_ID,
            json={'Id': LOADED, 'RepoTags': ['nova-image:' + IMAGE_ID]})
    assert _store(None).find(_meta()) == 'nova-image:' + IMAGE_ID
    assert len(http.calls('GET', '/images/busybox/json')) == 0


def test_found_by_lower_case_name(http):
    _missing(http, 'nova-image:' + IMAGE_ID)
    _missing(http, 'Busybox')
    http.on('GET', '/images/busybox/json',
            json={'Id': LOADED, 'RepoTags': ['busybox:latest']})
    assert _store(None).find(_meta()) == 'busybox'


def test_a_name_must_be_a_tag_not_an_id_prefix(http):
    _missing(http, 'nova-image:' + IMAGE_ID)
    http.on('GET', '/images/d4a9/json',
            json={'Id': 'sha256:d4a9ff', 'RepoTags': ['other:1']})
    assert _store(None).find(_meta('d4a9')) is None


def test_names_that_are_no_reference_are_not_asked(http):
    _missing(http, 'nova-image:' + IMAGE_ID)
    assert store.local_names(_meta('My image (v2)')) == []
    assert _store(None).find(_meta('My image (v2)')) is None
    assert len(http.calls('GET')) <= 2


def test_lookup_by_name_can_be_turned_off(http):
    assert store.candidates(_meta(), by_name=False) == [
        'nova-image:' + IMAGE_ID]


def test_missing_image_streams_from_glance_named_by_its_id(http):
    _missing_until_loaded(http)
    _missing(http, 'Busybox')
    _missing(http, 'busybox')
    received = _received(http)
    api = FakeImageAPI(TARBALL,
                       checksum=hashlib.md5(TARBALL).hexdigest(),
                       os_hash_algo='sha512',
                       os_hash_value=hashlib.sha512(TARBALL).hexdigest())
    ref = _store(api).ensure(None, None, _meta())
    assert ref == 'nova-image:' + IMAGE_ID
    assert api.downloads == 1
    # docker load itself names the image; the image is not tagged by ID
    # afterwards, only re-tagged by name (for its LastTagTime).
    assert _loaded_manifest(received)[0]['RepoTags'] == [ref]
    tag = http.calls('POST', '/images/%s/tag' % ref)[0]
    assert tag.qs == {'repo': ['nova-image'], 'tag': [IMAGE_ID.lower()],
                      'force': ['1']}
    assert b'busybox:latest' not in received['body']
    assert http.calls('POST', '/images/%s/tag' % LOADED) == []


def test_load_that_names_nothing_is_a_server_error(http):
    _missing(http, 'nova-image:' + IMAGE_ID)
    _received(http)
    http.on('POST', '/images/nova-image:%s/tag' % IMAGE_ID, status_code=404,
            json={'message': 'No such image'})
    with pytest.raises(docker_exception.DockerServerError,
                       match='has no image nova-image:'):
        _store(FakeImageAPI(TARBALL), by_name=False).ensure(None, None,
                                                            _meta())


def test_tag_fault_after_the_load_leaves_no_tag(http):
    _missing(http, 'nova-image:' + IMAGE_ID)
    _received(http)
    ref = 'nova-image:' + IMAGE_ID
    http.on('POST', '/images/%s/tag' % ref, status_code=500,
            json={'message': 'injected'})
    http.on('DELETE', '/images/%s' % ref, json=[{'Untagged': ref}])
    with pytest.raises(docker_exception.DockerServerError):
        _store(FakeImageAPI(TARBALL), by_name=False).ensure(None, None,
                                                            _meta())
    assert len(http.calls('DELETE', '/images/%s' % ref)) == 1


def test_checksum_mismatch_tags_nothing(http):
    _missing(http, 'nova-image:' + IMAGE_ID)
    received = _received(http)
    api = FakeImageAPI(TARBALL, checksum='0' * 32)
    with pytest.raises(exception.ImageUnacceptable, match='md5 checksum '
                                                          'mismatch'):
        _store(api, by_name=False).ensure(None, None, _meta())
    assert not received.get('body', b'').endswith(b'\0' * 1024)
    assert http.calls('POST', '/images/%s/tag' % LOADED) == []


def test_shared_directory_first(http, tmp_path):
    (tmp_path / IMAGE_ID).write_bytes(TARBALL)
    _missing_until_loaded(http)
    received = _received(http)
    api = FakeImageAPI(b'not used')
    api.meta['size'] = len(TARBALL)
    _store(api, str(tmp_path), by_name=False).ensure(None, None, _meta())
    assert api.downloads == 0
    assert _loaded_manifest(received)[0]['RepoTags'] == [
        'nova-image:' + IMAGE_ID]


def test_shared_directory_falls_back_to_glance(http, tmp_path):
    _missing_until_loaded(http)
    _received(http)
    api = FakeImageAPI(TARBALL)
    _store(api, str(tmp_path), by_name=False).ensure(None, None, _meta())
    assert api.downloads == 1


def test_progress_is_logged_at_a_bounded_rate(caplog):
    progress = store.Progress('img', 3000, interval=3600)
    assert b''.join(progress.wrap([b'a' * 1000] * 3)) == b'a' * 3000
    assert progress.bytes == 3000
    progress = store.Progress('img', 3000, interval=0)
    with caplog.at_level('INFO'):
        list(progress.wrap([b'a' * 1000] * 3))
    assert len([r for r in caplog.records
                if 'Loading image' in r.getMessage()]) == 3


def test_save_streams_docker_save_in_exact_pieces_from_a_thread(http):
    threads = []
    answer = test_client.streamed(b'x' * 2500, chunked=False)

    def body(request, context):
        threads.append(threading.current_thread().name)
        return answer(request, context)
    http.on('GET', '/images/nova-image:%s/get' % IMAGE_ID, raw=body)
    pieces = list(_store(None).save(IMAGE_ID, 1000))
    assert pieces == [b'x' * 1000, b'x' * 1000, b'x' * 500]
    # Docker's stream is read on a thread of its own, beside the upload.
    assert threads == ['image-save-%s' % IMAGE_ID]


def test_save_of_a_missing_image_raises_in_place_of_the_end(http):
    http.on('GET', '/images/nova-image:%s/get' % IMAGE_ID, status_code=404,
            json={'message': 'No such image'})
    with pytest.raises(docker_exception.DockerNotFound):
        list(_store(None).save(IMAGE_ID, 1000))
