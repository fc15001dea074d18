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

"""The network sandbox: a container that only holds a network namespace.

An instance with VIFs gets a second container, ``nova-<uuid>-net``,
started first with no network. Its namespace is wired completely and only
then is the instance's container created inside it (network mode
``container:<sandbox>``), so the workload never runs without its network,
and restarting the workload keeps the network.

The sandbox runs a 129-byte static program that waits forever (the
``pause`` system call in a loop): it needs no libc, no shell and no
registry, so any host can build its image. The image is ``docker
import``-ed on first use from bytes generated here.
"""

import io
import struct
import tarfile
import threading

from nova import exception as nova_exception
from oslo_log import log as logging

from novadocker.virt.docker import containers
from novadocker.virt.docker import exception
from novadocker.virt.docker import labels
from novadocker.virt.docker import translator

LOG = logging.getLogger(__name__)

IMAGE_REPOSITORY = 'novadocker/sandbox'
IMAGE_TAG = '1'
IMAGE = '%s:%s' % (IMAGE_REPOSITORY, IMAGE_TAG)
ROLE = 'network-sandbox'
PAUSE_PATH = '/pause'
# Limits that fit the container runtime's own init (runc runs multi-threaded
# inside the container's cgroups until it executes the program); the
# program itself is one thread with a few KiB.
MEMORY = 32 * 1024 * 1024
PIDS = 32
# Docker turns IPv6 off in a namespace it does not network itself; the
# ports bring their own IPv6 addresses, usable at once (Neutron already
# made them unique, so no duplicate address detection).
SYSCTLS = {
    'net.ipv6.conf.all.disable_ipv6': '0',
    'net.ipv6.conf.default.disable_ipv6': '0',
    'net.ipv6.conf.default.accept_dad': '0',
}

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


def name(instance_uuid):
    return 'nova-%s-net' % instance_uuid


def sandbox_labels(instance, host):
    found = labels.owner_labels(host)
    found[labels.LABEL_UUID] = instance.uuid
    found[labels.LABEL_ROLE] = ROLE
    return found


def container_args(instance, host):
    """Keyword arguments for ``DockerClient.create_container``."""
    return {
        'image': IMAGE,
        'name': name(instance.uuid),
        'hostname': translator.hostname(instance),
        'command': [PAUSE_PATH],
        # It has nothing to shut down, and as PID 1 without a handler it
        # ignores SIGTERM: an engine stopping (or docker stop) would wait
        # its whole stop timeout for it.
        'stop_signal': 'SIGKILL',
        'labels': sandbox_labels(instance, host),
        'host_config': {
            'network_mode': 'none',
            'cap_drop': ['ALL'],
            'security_opt': ['no-new-privileges:true'],
            'privileged': False,
            'read_only': True,
            'pids_limit': PIDS,
            'mem_limit': MEMORY,
            'memswap_limit': MEMORY,
            'sysctls': SYSCTLS,
        },
        'detach': True,
    }


class Sandboxes(object):
    """The sandboxes of this host's instances."""

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
            LOG.info('Importing the network sandbox image %s', IMAGE)
            label = 'LABEL %s=%s' % (labels.LABEL_MANAGED_BY,
                                     labels.MANAGED_BY)
            self._client.import_image_from_data(
                rootfs(), IMAGE_REPOSITORY, IMAGE_TAG,
                changes=['CMD ["%s"]' % PAUSE_PATH, label])

    def inspect(self, instance):
        """The sandbox's ``docker inspect``, or None when there is none.

        A container with the sandbox's name that is not ours raises
        VirtualInterfaceCreateException: it is never touched.
        """
        try:
            return containers.inspect_owned(
                self._client, name(instance.uuid),
                sandbox_labels(instance, self._host), instance,
                'our network sandbox')
        except containers.NotOurs:
            raise nova_exception.VirtualInterfaceCreateException()

    def ensure_running(self, instance):
        """Create and start the sandbox as needed: its (id, pid)."""
        info = self.inspect(instance)
        if info is None:
            self.ensure_image()
            self._client.create_container(
                **container_args(instance, self._host))
            info = self.inspect(instance)
        if not info['State'].get('Running'):
            self._client.start(info['Id'])
            info = self.inspect(instance)
        elif info['State'].get('Paused'):
            self._client.unpause(info['Id'])
        return info['Id'], info['State']['Pid']

    def stop(self, instance):
        """Stop the sandbox (its namespace goes with it); idempotent."""
        info = self.inspect(instance)
        if info is not None and info['State'].get('Running'):
            self._client.kill(info['Id'])
            self._client.wait(info['Id'], timeout=60)

    def remove(self, instance):
        try:
            info = self.inspect(instance)
        except nova_exception.VirtualInterfaceCreateException:
            return False
        if info is None:
            return False
        return containers.remove_owned(self._client, info, instance)
