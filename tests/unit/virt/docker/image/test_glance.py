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

"""image_glance.GlanceImages through nova's glanceclient wrapper and the real
glanceclient, with Glance faked at the HTTP layer (requests-mock)."""

import hashlib

from nova import context as nova_context
from nova import exception
from oslo_config import fixture as cfg_fixture
import pytest
import requests_mock

from novadocker.virt.docker.image import glance as image_glance

GLANCE = 'http://glance.test:9292'
IMAGE_ID = '7c0c4a8e-0000-4000-8000-00000000000b'
FILE = '%s/v2/images/%s/file' % (GLANCE, IMAGE_ID)
DATA = bytes(range(256)) * 1024


@pytest.fixture
def glance_http():
    conf = cfg_fixture.Config(image_glance.glance.CONF)
    conf.setUp()
    conf.config(api_servers=[GLANCE], num_retries=0, group='glance')
    with requests_mock.Mocker() as mocker:
        yield mocker
    conf.cleanUp()


@pytest.fixture
def context():
    return nova_context.RequestContext(
        'user', 'project', auth_token='t0k', is_admin=False)


def _meta(**extra):
    return dict({'id': IMAGE_ID, 'status': 'active', 'size': len(DATA),
                 'checksum': hashlib.md5(DATA).hexdigest(),
                 'os_hash_algo': 'sha512',
                 'os_hash_value': hashlib.sha512(DATA).hexdigest()}, **extra)


def test_download_streams_the_file_without_glanceclients_check(
        glance_http, context):
    # Metadata whose checksums do not match the data: glanceclient would
    # raise IOError at the end if it were checking; the filter checks.
    glance_http.get('%s/v2/images/%s' % (GLANCE, IMAGE_ID),
                    json=_meta(os_hash_value='0' * 128, checksum='0' * 32))
    glance_http.get(FILE, content=DATA,
                    headers={'Content-Type': 'application/octet-stream'})
    chunks = image_glance.GlanceImages().download(context, IMAGE_ID)
    assert b''.join(chunks) == DATA
    assert [r.url for r in glance_http.request_history] == [FILE]
    assert glance_http.last_request.headers['X-Auth-Token'] == 't0k'


@pytest.mark.parametrize('status, error', [
    (404, exception.ImageNotFound),
    (403, exception.ImageNotAuthorized),
    (401, exception.ImageNotAuthorized),
])
def test_download_errors_become_nova_image_errors(glance_http, context,
                                                  status, error):
    glance_http.get(FILE, status_code=status)
    with pytest.raises(error) as e:
        image_glance.GlanceImages().download(context, IMAGE_ID)
    assert IMAGE_ID in str(e.value)


def test_other_http_errors_pass_through(glance_http, context):
    import glanceclient.exc
    glance_http.get(FILE, status_code=500)
    with pytest.raises(glanceclient.exc.HTTPInternalServerError):
        image_glance.GlanceImages().download(context, IMAGE_ID)


def test_image_without_data_is_unacceptable(glance_http, context):
    glance_http.get(FILE, status_code=204)
    with pytest.raises(exception.ImageUnacceptable):
        image_glance.GlanceImages().download(context, IMAGE_ID)


def test_get_is_novas(glance_http, context):
    glance_http.get(GLANCE + '/v2/schemas/image', json={
        'name': 'image', 'additionalProperties': {'type': 'string'},
        'properties': {'id': {'type': 'string'}, 'size': {'type': 'integer'},
                       'status': {'type': 'string'}}})
    glance_http.get('%s/v2/images/%s' % (GLANCE, IMAGE_ID), json=_meta())
    meta = image_glance.GlanceImages().get(context, IMAGE_ID)
    assert meta['id'] == IMAGE_ID
    assert meta['size'] == len(DATA)


def test_a_download_to_verify_is_novas(monkeypatch, context):
    calls = []
    monkeypatch.setattr(image_glance.glance.API, 'download',
                        lambda self, *a, **kw: calls.append((a, kw)))
    sink, certs = object(), object()
    image_glance.GlanceImages().download(context, IMAGE_ID, data=sink,
                                         trusted_certs=certs)
    assert calls == [((context, IMAGE_ID),
                      {'data': sink, 'trusted_certs': certs})]
