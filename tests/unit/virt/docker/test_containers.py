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

"""containers: our containers only, by label; others are never touched.

A container named ``nova-<uuid>`` counts as the instance's only when it
carries our labels for this host and this instance.  When it does not,
every operation answers InstanceNotFound (or, for remove, nothing to
remove) and sends Docker nothing but the inspect.  Docker is faked at the
HTTP layer.
"""

import inspect
import json
import types

from nova import exception as nova_exception
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import containers as docker_containers
from novadocker.virt.docker import labels
from tests.unit.virt.docker import docker_http

UUID = '0f1e2d3c-0000-4000-8000-000000000001'
NAME = '/containers/nova-%s' % UUID
CID = docker_http.container(UUID)['Id']


@pytest.fixture
def http():
    fixture = docker_http.DockerHTTP()
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def containers(http):
    client = docker_client.DockerClient(docker_http.URL)
    return docker_containers.Containers(client, 'cmp1')


@pytest.fixture
def instance():
    return types.SimpleNamespace(uuid=UUID, name='instance-00000001')


def _ours():
    return dict(docker_http.container(UUID)['Config']['Labels'])


def _foreign_labels():
    """Labels of containers with our name that are not ours."""
    other_host = dict(_ours(), **{labels.LABEL_HOST: 'cmp2'})
    other_uuid = dict(_ours(), **{labels.LABEL_UUID: 'someone-else'})
    not_managed = {k: v for k, v in _ours().items()
                   if k != labels.LABEL_MANAGED_BY}
    other_manager = dict(_ours(), **{labels.LABEL_MANAGED_BY: 'compose'})
    return {'other host': other_host, 'other instance': other_uuid,
            'unmanaged': not_managed, 'other manager': other_manager,
            'no labels': {}}


FOREIGN = _foreign_labels()

# Every operation that acts on the instance's container.
OPERATIONS = {
    'inspect': lambda c, i: c.inspect(i),
    'start': lambda c, i: c.start(i),
    'stop': lambda c, i: c.stop(i, 10),
    'kill': lambda c, i: c.stop(i, 0),        # stop without a grace time
    'signal': lambda c, i: c.signal(i, 'SIGUSR1'),
    'pause': lambda c, i: c.pause(i),
    'unpause': lambda c, i: c.unpause(i),
    'logs': lambda c, i: c.logs(i, 1024),
    'commit': lambda c, i: c.commit(i, 'nova-snapshot', 'img-1'),
    'update_resources': lambda c, i: c.update_resources(
        i, {'NanoCpus': 10 ** 9}),
}


def _answer(http, labels_, **state):
    http.on('GET', NAME + '/json', json=docker_http.container(
        UUID, labels=labels_, **state))


def _all_requests_but_inspect(http):
    return [(r.method, r.path) for r in http.calls()
            if not (r.method == 'GET' and r.path.endswith(
                ('/version', '/nova-%s/json' % UUID)))]


@pytest.mark.parametrize('owner', sorted(FOREIGN))
@pytest.mark.parametrize('operation', sorted(OPERATIONS))
def test_foreign_container_is_never_touched(http, containers, instance,
                                            operation, owner):
    _answer(http, FOREIGN[owner])
    with pytest.raises(nova_exception.InstanceNotFound):
        OPERATIONS[operation](containers, instance)
    assert _all_requests_but_inspect(http) == []


@pytest.mark.parametrize('owner', sorted(FOREIGN))
def test_foreign_container_is_never_removed(http, containers, instance,
                                            owner):
    _answer(http, FOREIGN[owner])
    assert containers.remove(instance) is False
    assert containers.remove_with_image(instance) is None
    assert _all_requests_but_inspect(http) == []


def test_missing_container_is_instance_not_found(http, containers,
                                                 instance):
    http.on('GET', NAME + '/json', status_code=404,
            json={'message': 'No such container'})
    with pytest.raises(nova_exception.InstanceNotFound):
        containers.inspect(instance)
    assert containers.remove(instance) is False
    assert containers.remove_with_image(instance) is None
    assert _all_requests_but_inspect(http) == []


def test_our_container_is_acted_on_by_its_id(http, containers, instance):
    _answer(http, _ours())
    http.on('DELETE', '/containers/%s' % CID, status_code=204)
    http.on('POST', '/containers/%s/kill' % CID, status_code=204)
    assert containers.inspect(instance)['Id'] == CID
    containers.signal(instance, 'SIGUSR1')
    assert containers.remove(instance) is True
    assert containers.remove_with_image(instance) is not None
    assert _all_requests_but_inspect(http) == [
        ('POST', '/v%s/containers/%s/kill' % (docker_http.API, CID)),
        ('DELETE', '/v%s/containers/%s' % (docker_http.API, CID)),
        ('DELETE', '/v%s/containers/%s' % (docker_http.API, CID))]


def test_every_operation_on_an_instance_is_covered():
    # create makes a new container; remove (and remove_with_image, its
    # form that names the image) has its own tests.
    takes_instance = {
        name for name, value in vars(docker_containers.Containers).items()
        if not name.startswith('_') and callable(value)
        and 'instance' in inspect.signature(value).parameters}
    assert takes_instance - {'create', 'remove', 'remove_with_image'} == set(
        OPERATIONS) - {
        'kill'}


def test_list_asks_for_our_labels_and_leaves_helpers_out(http, containers):
    sandbox = dict(_ours(), **{labels.LABEL_ROLE: 'network-sandbox'})
    http.on('GET', '/containers/json', json=[
        {'Id': 'a', 'Labels': _ours()}, {'Id': 'b', 'Labels': sandbox}])
    assert [c['Id'] for c in containers.list()] == ['a']
    query = http.calls('GET', '/containers/json')[0].qs
    assert sorted(json.loads(query['filters'][0])['label']) == sorted(
        '%s=%s' % kv for kv in labels.owner_labels('cmp1').items())
