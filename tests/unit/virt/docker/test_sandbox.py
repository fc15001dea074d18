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

"""The network sandbox's image and container, and joining it."""

import io
import struct
import tarfile
import types

from novadocker.virt.docker import labels
from novadocker.virt.docker.network import sandbox
from novadocker.virt.docker import translator


def _instance():
    return types.SimpleNamespace(uuid='u-1', name='instance-1',
                                 hostname='web')


def test_pause_program_is_a_static_x86_64_executable():
    elf = sandbox.pause_elf()
    assert elf[:4] == b'\x7fELF'
    assert elf[4] == 2 and elf[5] == 1          # 64-bit, little endian
    e_type, machine = struct.unpack_from('<HH', elf, 16)
    assert (e_type, machine) == (2, 62)         # executable, x86_64
    entry, phoff = struct.unpack_from('<QQ', elf, 24)
    p_type, p_flags, offset, vaddr = struct.unpack_from('<IIQQ', elf, phoff)
    assert p_type == 1 and p_flags == 5         # PT_LOAD, R+X, no W
    code = elf[entry - vaddr + offset:]
    # mov eax, 34 (pause); syscall; jmp back to the mov
    assert code == b'\xb8\x22\x00\x00\x00\x0f\x05\xeb\xf7'


def test_rootfs_holds_only_the_program_and_mount_points():
    with tarfile.open(fileobj=io.BytesIO(sandbox.rootfs())) as tar:
        names = {m.name: m for m in tar.getmembers()}
    assert set(names) == {'dev', 'etc', 'proc', 'sys', 'pause'}
    assert names['pause'].mode == 0o755


def test_sandbox_is_unprivileged_and_marked_as_a_helper():
    args = sandbox.container_args(_instance(), 'h1')
    assert args['name'] == 'nova-u-1-net'
    assert args['hostname'] == 'web'
    host = args['host_config']
    assert host['network_mode'] == 'none'
    assert host['cap_drop'] == ['ALL']
    assert host['privileged'] is False
    assert host['read_only'] is True
    # Stops at once (pause ignores SIGTERM as PID 1).
    assert args['stop_signal'] == 'SIGKILL'
    got = args['labels']
    assert got[labels.LABEL_ROLE] == sandbox.ROLE
    assert got[labels.LABEL_UUID] == 'u-1'
    # Not an instance: no instance name label.
    assert labels.LABEL_NAME not in got


def test_join_network_drops_hostname_and_mounts_files_read_only():
    args = {'name': 'nova-u-1', 'hostname': 'web',
            'host_config': {'network_mode': 'none', 'mounts': [{'x': 1}]}}
    joined = translator.join_network(
        args, 'abc', {'/etc/hosts': '/s/hosts',
                      '/etc/resolv.conf': '/s/resolv.conf'})
    assert 'hostname' not in joined
    host = joined['host_config']
    assert host['network_mode'] == 'container:abc'
    assert host['mounts'] == [
        {'x': 1},
        {'Type': 'bind', 'Source': '/s/hosts', 'Target': '/etc/hosts',
         'ReadOnly': True},
        {'Type': 'bind', 'Source': '/s/resolv.conf',
         'Target': '/etc/resolv.conf', 'ReadOnly': True}]
    # The input is left as it was.
    assert args['host_config']['network_mode'] == 'none'
    assert args['hostname'] == 'web'
