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

"""DockerClient and the driver against a real engine, and a dead one."""

import uuid

import nova.conf
from nova import exception as nova_exception
from nova.virt import virtapi
from oslo_config import fixture as cfg_fixture
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import driver as docker_driver
from novadocker.virt.docker import exception

CONF = nova.conf.CONF


@pytest.fixture
def client(docker_url):
    return docker_client.DockerClient(docker_url, timeout=30)


def test_version_is_the_engines(client, docker_api):
    assert client.version()['ApiVersion'] == docker_api.version()[
        'ApiVersion']
    assert client.info()['ID'] == docker_api.info()['ID']


def test_missing_container_is_not_found(client):
    with pytest.raises(exception.DockerNotFound):
        client.inspect_container('nova-%s' % uuid.uuid4())


def test_containers_by_label(client, docker_api, busybox_image):
    label = {'org.novadocker.test': uuid.uuid4().hex}
    name = 'nd-client-%s' % uuid.uuid4().hex[:12]
    created = client.create_container(busybox_image, name, {},
                                      labels=label, command=['true'])
    try:
        assert [c['Id'] for c in client.containers(label)] == [
            created['Id']]
        with pytest.raises(exception.DockerConflict):
            client.create_container(busybox_image, name, {}, labels=label)
    finally:
        client.remove_container(created['Id'])
    assert client.containers(label) == []


@pytest.fixture
def dead_driver(tmp_path):
    """A driver whose engine socket does not exist."""
    fixture = cfg_fixture.Config(CONF)
    fixture.setUp()
    url = 'unix://%s/docker.sock' % tmp_path
    fixture.config(host='nd-dead-%s' % uuid.uuid4().hex[:8],
                   instances_path=str(tmp_path / 'instances'))
    fixture.config(group='docker', host_url=url, api_timeout=5)
    try:
        yield docker_driver.DockerDriver(virtapi.VirtAPI()), url
    finally:
        fixture.cleanUp()


def test_init_host_with_engine_down(dead_driver):
    driver, url = dead_driver
    with pytest.raises(nova_exception.HypervisorUnavailable) as e:
        driver.init_host(CONF.host)
    assert url in str(e.value)


def test_periodic_paths_with_engine_down(dead_driver):
    driver, url = dead_driver
    with pytest.raises(nova_exception.VirtDriverNotReady):
        driver.get_available_resource(CONF.host)
    with pytest.raises(nova_exception.VirtDriverNotReady):
        driver.list_instance_uuids()
