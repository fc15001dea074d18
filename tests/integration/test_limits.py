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

"""The flavor's limits hold on the real Docker engine: CPU time is capped
at ``vcpus`` cores, a fork bomb stops at the pids limit, and what Docker
refuses we refuse first (the containers are built by translator + knobs,
exactly as spawn builds them)."""

import time
import uuid

from nova import objects
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import exception as docker_exception
from novadocker.virt.docker import knobs
from novadocker.virt.docker import labels
from novadocker.virt.docker import translator

objects.register_all()


@pytest.fixture
def engine(docker_url, busybox_image):
    host = 'lim-%s' % uuid.uuid4().hex[:10]
    client = docker_client.DockerClient(docker_url)
    yield client, host, busybox_image
    for c in client.containers(labels.owner_labels(host)):
        client.remove_container(c['Id'])


def _create(engine, command, specs=None, vcpus=1, memory_mb=64,
            privileged=False, start=True):
    client, host, image = engine
    flavor = objects.Flavor(name='f', vcpus=vcpus, memory_mb=memory_mb,
                            swap=0, root_gb=1, extra_specs=specs or {})
    instance = objects.Instance(uuid=str(uuid.uuid4()), hostname='lim',
                                display_name='lim', metadata={},
                                flavor=flavor, id=1)
    storage = knobs.storage_of(client.info())
    settings = knobs.settings(flavor, 'img', {}, 2048, privileged, storage)
    image_meta = objects.ImageMeta.from_dict({
        'id': str(uuid.uuid4()), 'properties': {}})
    args = translator.container_args(instance, image, image_meta, host,
                                     2048, knobs=settings)
    args['command'] = command
    cid = client.create_container(**args)['Id']
    if start:
        client.start(cid)
    return cid


def _cpu_ns(api, cid):
    return api.stats(cid, stream=False)['cpu_stats']['cpu_usage'][
        'total_usage']


def _cores_used(api, cid):
    """Cores the container used over 2 s, after 0.5 s to settle."""
    time.sleep(0.5)
    t0, c0 = time.monotonic(), _cpu_ns(api, cid)
    time.sleep(2)
    t1, c1 = time.monotonic(), _cpu_ns(api, cid)
    return (c1 - c0) / ((t1 - t0) * 1e9)


def test_cpu_is_capped_at_vcpus(engine, docker_api):
    # Two busy loops on a host with two cores, one vCPU.
    cid = _create(engine, ['sh', '-c', 'yes >/dev/null & yes >/dev/null & '
                           'wait'], vcpus=1)
    cores = _cores_used(docker_api, cid)
    assert 0.5 < cores <= 1.1, cores


def test_cfs_quota_from_extra_specs_caps_cpu(engine, docker_api):
    cid = _create(engine, ['sh', '-c', 'yes >/dev/null & yes >/dev/null & '
                           'wait'], vcpus=2,
                  specs={'quota:cpu_quota': '50000',
                         'quota:cpu_period': '100000'})
    cores = _cores_used(docker_api, cid)
    assert 0.25 < cores <= 0.6, cores


def test_fork_bomb_stops_at_pids_limit(engine, docker_api):
    # A bounded bomb: a subshell starts 300 sleepers against a limit of
    # 64 and dies at the first failed fork; the main shell survives and
    # then waits on stdin (a builtin: no fork needed).
    cid = _create(engine, ['sh', '-c', '(i=0; while [ $i -lt 300 ]; do '
                           'sleep 60 & i=$((i+1)); done); echo done; '
                           'read x'],
                  specs={'docker:pids_limit': '64'})
    deadline = time.monotonic() + 20
    while b'done' not in docker_api.logs(cid):
        assert time.monotonic() < deadline, 'the loop did not finish'
        time.sleep(0.2)
    pids = docker_api.stats(cid, stream=False)['pids_stats']
    assert pids['limit'] == 64
    assert 50 <= pids['current'] <= 64, pids
    assert b"can't fork" in docker_api.logs(cid)
    assert docker_api.inspect_container(cid)['State']['Running']


def test_root_disk_limit_docker_refuses_what_we_refuse(engine):
    client, host, image = engine
    driver, backing = knobs.storage_of(client.info())
    assert not knobs.root_disk_supported(driver, backing)
    # Docker's own answer on this host, had we asked it.
    with pytest.raises(docker_exception.DockerServerError):
        client.create_container(
            image=image, name='nova-%s' % uuid.uuid4(),
            labels=labels.owner_labels(host),
            host_config={'storage_opt': {'size': '1G'}})


def test_privileged_reaches_docker_only_when_allowed(engine, docker_api):
    cid = _create(engine, ['true'], specs={'docker:privileged': 'true'},
                  privileged=True, start=False)
    assert docker_api.inspect_container(cid)['HostConfig']['Privileged']
    cid = _create(engine, ['true'], start=False)
    assert not docker_api.inspect_container(cid)['HostConfig']['Privileged']
