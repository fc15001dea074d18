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

"""The pause image: its program and root file system."""

import io
import struct
import tarfile

from novadocker.virt.docker.network import sandbox


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
