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

"""image.glance.GlanceImages on nova's real image API and glanceclient,
with Glance faked at the HTTP layer (requests-mock).
"""

import hashlib

from cryptography import exceptions as crypto_exceptions
import glanceclient.exc
import nova.conf
from nova import context as nova_context
from nova import exception
from nova.image import glance as nova_glance
from oslo_config import fixture as cfg_fixture
import pytest
import requests_mock

from novadocker.virt.docker.image import glance as image_glance

GLANCE = 'http://glance.test:9292'
IMAGE_ID = '7c0c4a8e-0000-4000-8000-00000000000b'
META = '%s/v2/images/%s' % (GLANCE, IMAGE_ID)
FILE = META + '/file'
DATA = bytes(range(256)) * 1024


@pytest.fixture
def glance_http():
    conf = cfg_fixture.Config(nova.conf.CONF)
    conf.setUp()
    conf.config(api_servers=[GLANCE], num_retries=0, group='glance')
    with requests_mock.Mocker() as mocker:
        yield mocker
    conf.cleanUp()


@pytest.fixture
def context():
    return nova_context.RequestContext(
        'user', 'project', auth_token='t0k', is_admin=False)


def _images():
    return image_glance.GlanceImages(nova_glance.API())


def _meta(**extra):
    return dict({'id': IMAGE_ID, 'status': 'active', 'size': len(DATA),
                 'checksum': hashlib.md5(DATA).hexdigest(),
                 'os_hash_algo': 'sha512',
                 'os_hash_value': hashlib.sha512(DATA).hexdigest()}, **extra)


def _serve(glance_http, **meta):
    glance_http.get(META, json=_meta(**meta))
    glance_http.get(FILE, content=DATA,
                    headers={'Content-Type': 'application/octet-stream'})


def test_chunks_are_novas_download_checked_by_glanceclient(glance_http,
                                                           context):
    _serve(glance_http)
    assert b''.join(_images().chunks(context, IMAGE_ID)) == DATA
    # glanceclient read Glance's checksum, then the data, once.
    assert [r.url for r in glance_http.request_history] == [META, FILE]
    assert glance_http.last_request.headers['X-Auth-Token'] == 't0k'


@pytest.mark.parametrize('meta, algo', [
    ({'os_hash_value': '0' * 128}, 'sha512'),
    ({'os_hash_value': None, 'checksum': '0' * 32}, 'md5'),
])
def test_checksum_mismatch_is_unacceptable_at_the_end(glance_http, context,
                                                      meta, algo):
    _serve(glance_http, **meta)
    got = []
    with pytest.raises(exception.ImageUnacceptable,
                       match='%s checksum mismatch' % algo):
        for chunk in _images().chunks(context, IMAGE_ID, algo=algo):
            got.append(chunk)
    # The refusal replaced the end: what came is a part of the data.
    assert DATA.startswith(b''.join(got))


@pytest.mark.parametrize('status, error', [
    (404, exception.ImageNotFound),
    (403, exception.ImageNotAuthorized),
    (401, exception.ImageNotAuthorized),
])
def test_download_errors_become_nova_image_errors(glance_http, context,
                                                  status, error):
    glance_http.get(META, json=_meta())
    glance_http.get(FILE, status_code=status)
    with pytest.raises(error) as e:
        list(_images().chunks(context, IMAGE_ID))
    assert IMAGE_ID in str(e.value)


def test_other_http_errors_pass_through(glance_http, context):
    glance_http.get(META, json=_meta())
    glance_http.get(FILE, status_code=500)
    with pytest.raises(glanceclient.exc.HTTPInternalServerError):
        list(_images().chunks(context, IMAGE_ID))


def test_image_without_data_is_unacceptable(glance_http, context):
    glance_http.get(META, json=_meta())
    glance_http.get(FILE, status_code=204)
    with pytest.raises(exception.ImageUnacceptable):
        list(_images().chunks(context, IMAGE_ID))


def test_get_is_novas(glance_http, context):
    glance_http.get(GLANCE + '/v2/schemas/image', json={
        'name': 'image', 'additionalProperties': {'type': 'string'},
        'properties': {'id': {'type': 'string'}, 'size': {'type': 'integer'},
                       'status': {'type': 'string'}}})
    glance_http.get(META, json=_meta())
    meta = _images().get(context, IMAGE_ID)
    assert meta['id'] == IMAGE_ID
    assert meta['size'] == len(DATA)


class _SignedAPI(object):
    """nova's download with a verifier: writes every chunk, then raises
    if the signature is bad.
    """

    def __init__(self, signature_ok):
        self.signature_ok = signature_ok
        self.calls = []

    def download(self, context, image_id, data=None, trusted_certs=None):
        self.calls.append((image_id, trusted_certs))
        data.write(b'a')
        data.write(b'b')
        if not self.signature_ok:
            raise crypto_exceptions.InvalidSignature()


def test_trusted_certs_reach_nova():
    api = _SignedAPI(signature_ok=True)
    images = image_glance.GlanceImages(api)
    assert b''.join(images.chunks(None, IMAGE_ID, 'certs')) == b'ab'
    assert api.calls == [(IMAGE_ID, 'certs')]


def test_bad_signature_is_unacceptable_at_the_end():
    images = image_glance.GlanceImages(_SignedAPI(signature_ok=False))
    got = []
    with pytest.raises(exception.ImageUnacceptable, match='signature'):
        for chunk in images.chunks(None, IMAGE_ID):
            got.append(chunk)
    assert b'ab'.startswith(b''.join(got))


def test_transport_errors_are_not_checksum_failures():
    class Reset(object):
        def download(self, context, image_id, data=None,
                     trusted_certs=None):
            raise ConnectionResetError(104, 'reset')
    with pytest.raises(ConnectionResetError):
        list(image_glance.GlanceImages(Reset()).chunks(None, IMAGE_ID))


def test_upload_is_novas_update():
    class Recorder(object):
        def update(self, *args, **kwargs):
            self.call = (args, kwargs)
    api = Recorder()
    image_glance.GlanceImages(api).upload('ctx', IMAGE_ID, {'a': 1}, 'body')
    assert api.call == (('ctx', IMAGE_ID, {'a': 1}, 'body'),
                        {'purge_props': False})
