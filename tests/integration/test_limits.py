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

"""The flavor's limits hold on the real Docker engine.

CPU time is capped at ``vcpus`` cores (checked with the cgroup's own CFS
counters, so a busy host cannot make it fail), a fork bomb stops at the
pids limit, and what Docker refuses we refuse first (the containers are
built by translator + knobs, exactly as spawn builds them).
"""

import time
import uuid

from nova import objects
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import exception as docker_exception
from novadocker.virt.docker import hostinfo
from novadocker.virt.docker import knobs
from novadocker.virt.docker import labels
from novadocker.virt.docker import translator
from tests import images as test_images

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
    info = client.info()
    settings = knobs.settings(flavor, 'img', {}, 2048, privileged,
                              info['NCPU'], hostinfo.storage_of(info))
    image_meta = objects.ImageMeta.from_dict({
        'id': str(uuid.uuid4()), 'properties': {}})
    args = translator.container_args(instance, image, image_meta, host,
                                     2048, info['NCPU'], knobs=settings)
    args['command'] = command
    cid = client.create_container(**args)['Id']
    if start:
        client.start(cid)
    return cid


# The CFS bandwidth settings of the container's own cgroup, as the kernel
# holds them (cgroup v2, else v1): quota and period in microseconds.
CFS_SETTINGS = ['sh', '-c', 'cat /sys/fs/cgroup/cpu.max 2>/dev/null || '
                'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us '
                '/sys/fs/cgroup/cpu/cpu.cfs_period_us']
BUSY = ['sh', '-c', 'yes >/dev/null & yes >/dev/null & wait']


def _cfs_settings(api, cid):
    exec_id = api.exec_create(cid, CFS_SETTINGS)['Id']
    quota, period = api.exec_start(exec_id).split()
    return int(quota), int(period)


def _cpu_counters(api, cid):
    cpu = api.stats(cid, stream=False)['cpu_stats']
    throttling = cpu['throttling_data']
    return (cpu['cpu_usage']['total_usage'], throttling['periods'],
            throttling['throttled_periods'])


def _cpu_window(api, cid, seconds=2):
    """CPU time used (ns), CFS periods run and periods throttled over
    ``seconds``, from the container's own cgroup counters.
    """
    time.sleep(0.5)
    before = _cpu_counters(api, cid)
    time.sleep(seconds)
    after = _cpu_counters(api, cid)
    return tuple(a - b for a, b in zip(after, before))


def _assert_capped(api, cid, quota_us, period_us):
    """The kernel holds the cap and the container never got more.

    No wall clock and no share of the host: the kernel counts each CFS
    period the container ran in, and in none may it use more than its
    quota, however busy the rest of the host is.  A container without
    the cap runs no counted periods at all.
    """
    assert _cfs_settings(api, cid) == (quota_us, period_us)
    used_ns, periods, throttled = _cpu_window(api, cid)
    window = (used_ns, periods, throttled)
    assert used_ns > 0 and periods > 0, window
    assert used_ns <= 1.1 * (periods + 1) * quota_us * 1000, window


def test_cpu_is_capped_at_vcpus(engine, docker_api):
    # Two busy loops, one vCPU.
    cid = _create(engine, BUSY, vcpus=1)
    _assert_capped(docker_api, cid, 100000, 100000)


def test_cfs_quota_from_extra_specs_caps_cpu(engine, docker_api):
    cid = _create(engine, BUSY, vcpus=2,
                  specs={'quota:cpu_quota': '50000',
                         'quota:cpu_period': '100000'})
    _assert_capped(docker_api, cid, 50000, 100000)


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


def test_root_disk_limit_docker_refuses_what_we_refuse(engine, docker_api):
    client, host, image = engine
    driver, backing = hostinfo.storage_of(client.info())
    assert not knobs.root_disk_supported(driver, backing)
    # Docker's own answer on this host, had we asked it.
    args = dict(image=image, name='nova-%s' % uuid.uuid4(),
                labels=labels.owner_labels(host),
                host_config={'storage_opt': {'size': '10M'}})
    if not test_images.containerd_store(docker_api):
        with pytest.raises(docker_exception.DockerServerError):
            client.create_container(**args)
        return
    # The containerd image store (overlayfs snapshotter) takes the size
    # and does not enforce it: refusing it ourselves is the only way the
    # user learns that the flavor's root disk limit would not hold.
    cid = client.create_container(
        command=['dd', 'if=/dev/zero', 'of=/root/big', 'bs=1M',
                 'count=20'], **args)['Id']
    client.start(cid)
    assert client.wait(cid, timeout=60)['StatusCode'] == 0


def test_privileged_reaches_docker_only_when_allowed(engine, docker_api):
    cid = _create(engine, ['true'], specs={'docker:privileged': 'true'},
                  privileged=True, start=False)
    assert docker_api.inspect_container(cid)['HostConfig']['Privileged']
    cid = _create(engine, ['true'], start=False)
    assert not docker_api.inspect_container(cid)['HostConfig']['Privileged']


def test_more_vcpus_than_the_engine_has(engine, docker_api):
    # Nova overcommits CPU; Docker refuses NanoCpus above its NCPU.
    ncpu = docker_api.info()['NCPU']
    cid = _create(engine, ['sleep', '60'], vcpus=2 * ncpu)
    info = docker_api.inspect_container(cid)
    assert info['HostConfig']['NanoCpus'] == ncpu * 10 ** 9
    assert info['HostConfig']['CpuShares'] == 2 * ncpu * 1024
    assert info['State']['Running']
    cid = _create(engine, ['sleep', '60'], vcpus=2 * ncpu,
                  specs={'quota:cpu_period': '100000'})
    info = docker_api.inspect_container(cid)
    assert info['HostConfig']['CpuQuota'] == ncpu * 100000
    assert info['State']['Running']
