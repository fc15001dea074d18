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

"""Cinder volumes on real loop devices, connected through os-brick's
``local`` connector and mounted by the real privsep daemon: attach and
detach on running and stopped containers, remounting, data safety.
"""

import contextlib
import errno
import os
import struct
import time
from unittest import mock

from nova import exception
from os_brick.initiator.connectors import local
from oslo_concurrency import processutils
import pytest

from novadocker.privsep import storage

from novadocker.virt.docker.disks import volumes
from tests.integration import volume_support as support


@pytest.fixture
def blank(vol_env):
    with support.loop_device(str(vol_env)) as device:
        yield device


def _attach(servers, inst, device, mountpoint='/dev/vdb', **kwargs):
    info = support.connection_info(device, **kwargs)
    servers.driver.attach_volume(None, info, inst, mountpoint)
    return info


def test_attach_and_detach_while_running(servers, blank):
    inst = servers.boot()
    pid = servers.api.inspect_container(servers.container(inst))['State'][
        'Pid']
    info = _attach(servers, inst, blank)
    assert servers.mounted(inst, '/volumes/vdb')
    servers.ok(inst, 'sh', '-c', 'echo kept > /volumes/vdb/file')
    # The directory itself is read-only inside; the volume is not.
    assert servers.run(inst, 'mkdir', '/volumes/other')[0] != 0

    servers.driver.detach_volume(None, info, inst, '/dev/vdb')
    assert not servers.mounted(inst, '/volumes/vdb')
    assert servers.run(inst, 'ls', '/volumes/vdb')[0] != 0
    # Nothing was restarted.
    assert servers.api.inspect_container(servers.container(inst))['State'][
        'Pid'] == pid

    other = servers.boot('other')
    _attach(servers, other, blank, mountpoint='/dev/vdc')
    assert servers.ok(other, 'cat', '/volumes/vdc/file') == 'kept\n'


def test_attach_and_detach_while_stopped(servers, blank):
    inst = servers.boot()
    servers.driver.power_off(inst)
    info = _attach(servers, inst, blank)
    servers.driver.power_on(None, inst, [], support.block_device_info(
        [(info, '/dev/vdb')]))
    assert servers.mounted(inst, '/volumes/vdb')
    servers.driver.power_off(inst)
    servers.driver.detach_volume(None, info, inst, '/dev/vdb')
    servers.driver.power_on(None, inst, [], support.block_device_info())
    assert not servers.mounted(inst, '/volumes/vdb')
    assert os.listdir(servers.driver._disks._volumes.host_dir(inst)) == []


def test_read_only_attachment(servers, vol_env):
    with support.loop_device(str(vol_env)) as device:
        support.run('mkfs.ext4', '-q', device)
        inst = servers.boot()
        _attach(servers, inst, device, read_only=True)
        assert servers.mounted(inst, '/volumes/vdb')
        code, out = servers.run(inst, 'touch', '/volumes/vdb/x')
        assert code != 0 and 'Read-only' in out


def test_boot_with_volume_then_destroy_leaves_nothing(servers, blank):
    info = support.connection_info(blank)
    inst = servers.boot(volumes=[(info, '/dev/vdb')])
    assert servers.mounted(inst, '/volumes/vdb')
    servers.driver.destroy(None, inst, [], support.block_device_info(
        [(info, '/dev/vdb')]))
    assert support.leftovers(inst) == []


def test_existing_filesystem_is_never_formatted(servers, vol_env, tmp_path):
    with support.loop_device(str(vol_env)) as device:
        support.run('mkfs.ext4', '-q', device)
        mnt = tmp_path / 'mnt'
        mnt.mkdir()
        support.run('mount', device, str(mnt))
        (mnt / 'old').write_text('before\n')
        support.run('umount', str(mnt))
        before = support.fs_uuid(device)
        inst = servers.boot()
        info = _attach(servers, inst, device)
        assert servers.ok(inst, 'cat', '/volumes/vdb/old') == 'before\n'
        servers.driver.detach_volume(None, info, inst, '/dev/vdb')
        assert support.fs_uuid(device) == before


def _partition_table(device):
    mbr = bytearray(512)
    mbr[446:462] = struct.pack('<B3sB3sII', 0, b'\0' * 3, 0x83, b'\0' * 3,
                               2048, 2048)
    mbr[510:512] = b'\x55\xaa'
    with open(device, 'r+b') as f:
        f.write(mbr)


def _unknown_data(device):
    with open(device, 'r+b') as f:
        f.write(os.urandom(4096))


def _swap(device):
    support.run('mkswap', device)


@pytest.mark.parametrize('make', [_partition_table, _unknown_data, _swap])
def test_volume_with_other_content_is_refused_untouched(make, servers,
                                                        vol_env):
    with support.loop_device(str(vol_env)) as device:
        make(device)
        before = support.first_mib(device)
        inst = servers.boot()
        with pytest.raises(volumes.VolumeRefused):
            _attach(servers, inst, device)
        assert support.first_mib(device) == before
        assert not servers.mounted(inst, '/volumes/vdb')
        assert os.listdir(servers.driver._disks._volumes.host_dir(inst)) == []


def _make_private(servers, inst):
    support.run('mount', '--make-private',
                servers.driver._disks._volumes.host_dir(inst))
    return contextlib.nullcontext()


FAULTS = {
    'connect': lambda s, i: mock.patch.object(
        local.LocalConnector, 'connect_volume',
        side_effect=OSError(errno.EIO, 'connect fault'), autospec=True),
    'format': lambda s, i: mock.patch.object(
        storage, 'format_blank',
        side_effect=processutils.ProcessExecutionError('mkfs fault'),
        autospec=True),
    'mount': lambda s, i: mock.patch.object(
        storage, 'mount', side_effect=OSError(errno.EIO, 'mount fault'),
        autospec=True),
    'propagation': _make_private,
}


@pytest.mark.parametrize('step', sorted(FAULTS))
def test_attach_fault_leaves_nothing(step, servers, blank):
    inst = servers.boot()
    with FAULTS[step](servers, inst), mock.patch.object(
            local.LocalConnector, 'disconnect_volume',
            autospec=True) as disconnect:
        with pytest.raises(exception.VolumeAttachFailed):
            _attach(servers, inst, blank)
    assert disconnect.called == (step != 'connect')
    assert not servers.mounted(inst, '/volumes/vdb')
    host_dir = servers.driver._disks._volumes.host_dir(inst)
    assert os.listdir(host_dir) == []
    assert support.mountinfo.below(host_dir) == []
    if step in ('connect', 'format'):
        assert support.first_mib(blank) == bytes(support.MIB)


def test_detach_refuses_while_busy_then_succeeds(servers, blank):
    inst = servers.boot()
    info = _attach(servers, inst, blank)
    exec_id = servers.api.exec_create(
        servers.container(inst),
        ['sh', '-c', 'cd /volumes/vdb && exec sleep 3'])['Id']
    servers.api.exec_start(exec_id, detach=True)
    time.sleep(0.5)
    with pytest.raises(exception.DeviceDetachFailed):
        servers.driver.detach_volume(None, info, inst, '/dev/vdb')
    assert servers.mounted(inst, '/volumes/vdb')
    support.wait_until(
        lambda: not servers.api.exec_inspect(exec_id)['Running'], 10)
    servers.driver.detach_volume(None, info, inst, '/dev/vdb')
    assert not servers.mounted(inst, '/volumes/vdb')


@pytest.mark.parametrize('step', ['unmount', 'disconnect'])
def test_detach_fault_keeps_a_consistent_state(step, servers, blank):
    inst = servers.boot()
    info = _attach(servers, inst, blank)
    if step == 'unmount':
        fault = mock.patch.object(storage, 'unmount',
                                  side_effect=OSError(errno.EIO, 'fault'),
                                  autospec=True)
    else:
        fault = mock.patch.object(local.LocalConnector, 'disconnect_volume',
                                  side_effect=OSError(errno.EIO, 'fault'),
                                  autospec=True)
    with fault, pytest.raises(OSError):
        servers.driver.detach_volume(None, info, inst, '/dev/vdb')
    # Still mounted (unmount failed) or fully unmounted (disconnect
    # failed); never half. A retry finishes the detach.
    assert servers.mounted(inst, '/volumes/vdb') == (step == 'unmount')
    servers.driver.detach_volume(None, info, inst, '/dev/vdb')
    assert not servers.mounted(inst, '/volumes/vdb')


def test_extend_grows_the_filesystem_while_written(servers, vol_env):
    """Online growth while a process writes. The volume carries XFS:
    growing a mounted ext4 needs CAP_SYS_RESOURCE, which a compute host's
    root has but this test machine's bounding set lacks; the driver's path
    is the same (connector's extend, then the filesystem's grow tool).
    """
    with support.loop_device(str(vol_env), size_mb=300) as device:
        support.run('mkfs.xfs', '-q', device)
        _extend_while_written(servers, device)


def _extend_while_written(servers, device):
    inst = servers.boot()
    info = _attach(servers, inst, device)
    host = os.path.join(servers.driver._disks._volumes.host_dir(inst), 'vdb')
    before = os.statvfs(host)
    exec_id = servers.api.exec_create(servers.container(inst), [
        'sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo $i >> '
        '/volumes/vdb/log || exit 1; i=$((i+1)); sleep 0.01; done'])['Id']
    servers.api.exec_start(exec_id, detach=True)
    os.truncate(support.backing_file(device), 600 * support.MIB)
    support.run('losetup', '-c', device)
    # Without Nova's database (no context) the driver cannot look the
    # attachment up; the functional tests go through extend_volume.
    size = servers.driver._disks._volumes.extend(
        inst, volumes.volume(info, None, '/dev/vdb'))
    assert size == 600 * support.MIB
    after = os.statvfs(host)
    assert after.f_blocks * after.f_frsize > 1.8 * before.f_blocks * \
        before.f_frsize
    support.wait_until(
        lambda: not servers.api.exec_inspect(exec_id)['Running'], 30)
    assert servers.api.exec_inspect(exec_id)['ExitCode'] == 0
    assert servers.ok(inst, 'tail', '-n', '1', '/volumes/vdb/log') == '299\n'


def test_connector_comes_from_os_brick(servers):
    # Through os-brick's real privsep daemon: what Cinder gets to export a
    # volume to this host.
    props = servers.driver.get_volume_connector(None)
    assert props['host'] == support.CONF.host
    assert props['multipath'] is False
    assert {'ip', 'platform', 'os_type'} <= set(props)
