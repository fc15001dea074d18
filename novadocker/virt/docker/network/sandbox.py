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

"""The pause image: a container that only waits.

Its program is 129 bytes of static x86_64 code that waits forever (the
``pause`` system call in a loop): it needs no libc, no shell and no
registry, so any host can build its image, which is ``docker import``-ed
on first use from bytes generated here. The engine locality check
(enginehost.py) runs it in a throw-away container. (Instances' networks
need no helper container: see hold.py.)
"""

import io
import struct
import tarfile
import threading

from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker import labels

LOG = logging.getLogger(__name__)

IMAGE_REPOSITORY = 'novadocker/sandbox'
IMAGE_TAG = '1'
IMAGE = '%s:%s' % (IMAGE_REPOSITORY, IMAGE_TAG)
PAUSE_PATH = '/pause'
# Limits that fit the container runtime's own init (runc runs multi-threaded
# inside the container's cgroups until it executes the program); the
# program itself is one thread with a few KiB.
MEMORY = 32 * 1024 * 1024
PIDS = 32

_BASE = 0x400000
_EHDR = 64
_PHDR = 56
# mov eax, 34 (pause); syscall; jmp back to the mov.
_X86_64_LOOP = b'\xb8\x22\x00\x00\x00\x0f\x05\xeb\xf7'
_EM_X86_64 = 62


def pause_elf():
    """A static x86_64 ELF executable that calls pause() forever."""
    size = _EHDR + _PHDR + len(_X86_64_LOOP)
    ident = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack('<HHIQQQIHHHHHH', 2, _EM_X86_64, 1,
                                 _BASE + _EHDR + _PHDR, _EHDR, 0, 0, _EHDR,
                                 _PHDR, 1, 0, 0, 0)
    program = struct.pack('<IIQQQQQQ', 1, 5, 0, _BASE, _BASE, size, size,
                          0x1000)
    return header + program + _X86_64_LOOP


def rootfs():
    """The sandbox image's root filesystem, as a tarball (bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name in ('dev', 'etc', 'proc', 'sys'):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        data = pause_elf()
        info = tarfile.TarInfo(PAUSE_PATH.lstrip('/'))
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Sandboxes(object):
    """The pause image on this host's engine."""

    def __init__(self, client, host):
        self._client = client
        self._host = host
        self._image_lock = threading.Lock()

    def ensure_image(self):
        with self._image_lock:
            try:
                self._client.inspect_image(IMAGE)
                return
            except exception.DockerNotFound:
                pass
            LOG.info('Importing the pause image %s', IMAGE)
            label = 'LABEL %s=%s' % (labels.LABEL_MANAGED_BY,
                                     labels.MANAGED_BY)
            self._client.import_image_from_data(
                rootfs(), IMAGE_REPOSITORY, IMAGE_TAG,
                changes=['CMD ["%s"]' % PAUSE_PATH, label])
