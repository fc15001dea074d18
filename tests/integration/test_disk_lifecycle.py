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

"""Volumes and the ephemeral disk through an instance's life: reboots,
stop and start, a host reboot, a restarted engine, delete.
"""

import os

from nova import exception
import pytest

from tests.integration import volume_support as support


@pytest.fixture
def booted(servers, vol_env):
    """An instance with a volume and a 1 GiB ephemeral disk, a file on
    each: (instance, its block_device_info).
    """
    with support.loop_device(str(vol_env)) as device:
        info = support.connection_info(device)
        bdi = support.block_device_info([(info, '/dev/vdb')], 1)
        inst = servers.boot(volumes=[(info, '/dev/vdb')], ephemeral_gb=1)
        servers.ok(inst, 'sh', '-c', 'echo v > /volumes/vdb/f && '
                   'echo e > /ephemeral0/f')
        yield inst, bdi


def _assert_kept(servers, inst):
    assert servers.ok(inst, 'cat', '/volumes/vdb/f', '/ephemeral0/f') == \
        'v\ne\n'


def test_stop_start_and_pause_keep_disks(servers, booted):
    # (Reboots, soft and hard, are in tests/functional/test_volumes.py.)
    inst, bdi = booted
    fs = os.statvfs(os.path.join(support.CONF.instances_path, inst.uuid,
                                 'ephemeral', 'eph0'))
    assert 0.9 * 1024 ** 3 < fs.f_blocks * fs.f_frsize <= 1024 ** 3
    assert 'ext4' in servers.ok(inst, 'grep', '/ephemeral0', '/proc/mounts')
    servers.driver.power_off(inst)
    servers.driver.power_on(None, inst, [], bdi)
    _assert_kept(servers, inst)
    servers.driver.suspend(None, inst)
    servers.driver.resume(None, inst, [], bdi)
    _assert_kept(servers, inst)


def _host_reboot(servers, inst):
    """What a host reboot leaves: the container stopped, nothing mounted
    (the loop device standing in for the volume stays).
    """
    servers.api.kill(servers.container(inst))
    # The kill is asynchronous; the container's mounts go when it is gone.
    servers.api.wait(servers.container(inst), timeout=30)
    top = os.path.join(support.CONF.instances_path, inst.uuid)
    for target in support.mountinfo.below(top):
        support.run('umount', target)
    assert support.leftovers(inst) == ['directory volumes',
                                       'directory ephemeral']


def test_host_boot_remounts_everything(servers, booted):
    inst, bdi = booted
    _host_reboot(servers, inst)
    driver = support.docker_driver.DockerDriver(
        support.network_support.virtapi())
    driver.init_host(support.CONF.host)
    driver.resume_state_on_host_boot(None, inst, [], None, bdi)
    _assert_kept(servers, inst)
    # Attaching and detaching still work: the directory is shared again.
    with support.loop_device(str(support.CONF.instances_path)) as device:
        info = support.connection_info(device)
        driver.attach_volume(None, info, inst, '/dev/vdc')
        assert servers.mounted(inst, '/volumes/vdc')
        driver.detach_volume(None, info, inst, '/dev/vdc')


def test_delete_removes_everything(servers, booted):
    inst, bdi = booted
    servers.driver.destroy(None, inst, [], bdi)
    assert support.leftovers(inst) == []


def test_boot_from_volume_is_refused_up_front(servers):
    inst = support.network_support.instance('bfv')
    inst.image_ref = ''
    with pytest.raises(exception.InstanceUnacceptable):
        servers.driver.prepare_for_spawn(inst)


def test_snapshot_layer_holds_no_disk_contents(servers, booted):
    # A snapshot is ``docker commit`` of the container's own layer: the
    # files written to the volume and the ephemeral disk are not in it.
    inst, _bdi = booted
    changed = [c['Path'] for c in servers.api.diff(servers.container(inst))]
    assert not [p for p in changed
                if p.startswith(('/volumes/', '/ephemeral0/'))], changed


def test_real_engine_restart_keeps_disks(private_engine, vol_env):
    # dockerd really restarts (a private one): the container stops with
    # it; the host's mounts stay, and starting the instance shows them.
    api = private_engine.start()
    image = support.images.ensure_busybox(api)
    support.CONF.set_override('host_url', private_engine.url,
                              group='docker')
    servers = support.Servers(api, image)
    with support.loop_device(str(vol_env)) as device:
        info = support.connection_info(device)
        bdi = support.block_device_info([(info, '/dev/vdb')], 1)
        inst = servers.boot(volumes=[(info, '/dev/vdb')], ephemeral_gb=1)
        try:
            servers.ok(inst, 'sh', '-c', 'echo v > /volumes/vdb/f && '
                       'echo e > /ephemeral0/f')
            private_engine.stop()
            api = private_engine.start()
            servers.api = api
            assert not api.inspect_container(
                servers.container(inst))['State']['Running']
            servers.driver = support.docker_driver.DockerDriver(
                support.network_support.virtapi())
            servers.driver.resume_state_on_host_boot(None, inst, [], None,
                                                     bdi)
            _assert_kept(servers, inst)
        finally:
            servers.driver.destroy(None, inst, [], bdi)
        assert support.leftovers(inst) == []
