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

"""cache.ImageCache against Docker faked at the HTTP layer."""

import datetime

from oslo_utils import timeutils
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker.image import cache
from tests.unit.virt.docker import docker_http

OLD, NEW, USED, BUSY, GONE = ('a-old', 'b-new', 'c-used', 'd-busy', 'e-gone')


class _Instance(object):
    def __init__(self, image_ref):
        self.image_ref = image_ref


@pytest.fixture
def http():
    fixture = docker_http.DockerHTTP()
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def _stamp(seconds_ago):
    when = timeutils.utcnow() - datetime.timedelta(seconds=seconds_ago)
    return when.strftime('%Y-%m-%dT%H:%M:%S.123456789Z')


def _docker(http):
    http.on('GET', '/images/json', json=[
        {'Id': 'sha256:1', 'RepoTags': ['nova-image:' + OLD,
                                        'nova-image:' + USED]},
        {'Id': 'sha256:2', 'RepoTags': ['nova-image:' + NEW]},
        {'Id': 'sha256:3', 'RepoTags': ['nova-image:' + BUSY]},
        {'Id': 'sha256:4', 'RepoTags': ['busybox:latest']},
        {'Id': 'sha256:5', 'RepoTags': ['<none>:<none>']},
    ])
    ages = {OLD: 7200, USED: 7200, NEW: 60, BUSY: 7200}
    for image_id, age in ages.items():
        http.on('GET', '/images/nova-image:%s/json' % image_id, json={
            'Id': 'sha256:x', 'Created': _stamp(10 ** 6),
            'Metadata': {'LastTagTime': _stamp(age)}})
        http.on('DELETE', '/images/nova-image:%s' % image_id,
                json=[{'Untagged': image_id}])
        http.on('POST', '/images/nova-image:%s/tag' % image_id,
                status_code=201)
    http.on('DELETE', '/images/nova-image:' + BUSY, status_code=409,
            json={'message': 'image is being used by running container'})


def _cache(enabled=True, min_age=3600):
    return cache.ImageCache(docker_client.DockerClient(docker_http.URL),
                            enabled, min_age)


def test_prunes_only_old_unused_images_of_ours(http):
    _docker(http)
    removed = _cache().prune([_Instance(USED), _Instance(None)])
    assert removed == [OLD]
    deleted = {r.path.split('/')[-1] for r in http.calls('DELETE')}
    # BUSY was asked for and refused by Docker (a container uses it).
    assert deleted == {'nova-image:' + OLD, 'nova-image:' + BUSY}
    # The image in use is marked as used now.
    assert [r.path for r in http.calls('POST')] == [
        '/v1.41/images/nova-image:%s/tag' % USED]


def test_last_use_seen_by_a_pass_counts_where_the_tag_time_stays(http):
    # The containerd image store keeps LastTagTime (7200 s ago here) when
    # the touch re-tags an image; the pass that saw USED in use counts.
    _docker(http)
    c = _cache()
    assert c.prune([_Instance(USED)]) == [OLD]
    # Unused from now on: kept for min_age from the pass that saw it used.
    assert USED not in c.prune([])
    deleted = {r.path.split('/')[-1] for r in http.calls('DELETE')}
    assert 'nova-image:' + USED not in deleted
    # A cache that never saw it in use goes by the tag time alone.
    assert USED in _cache().prune([])


def test_min_age_is_honoured(http):
    _docker(http)
    assert _cache(min_age=10 ** 5).prune([]) == []
    assert http.calls('DELETE') == []


def test_nothing_removed_when_disabled(http):
    _docker(http)
    assert _cache(enabled=False).prune([]) == []
    assert http.calls('DELETE') == []
    assert http.calls('GET', '/images/json') == []


def test_last_used_falls_back_to_created():
    info = {'Created': '2026-01-02T03:04:05.5Z',
            'Metadata': {'LastTagTime': '0001-01-01T00:00:00Z'}}
    assert cache.last_used(info).year == 2026


def test_last_used_without_any_time_is_long_ago():
    # API 1.44 and later leave out Created when the image has none.
    info = {'Metadata': {'LastTagTime': '0001-01-01T00:00:00Z'}}
    assert cache.last_used(info).year == 1
