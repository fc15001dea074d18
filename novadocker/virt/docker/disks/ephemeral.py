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

"""The flavor's ephemeral disks: ext4 filesystems in files on the host.

Ephemeral disk ``N`` (``ephemeral0`` is the flavor's ``ephemeral_gb``) is
the file ``<instances_path>/<uuid>/ephemeral/disk.eph<N>`` of that size,
sparse unless ``[DEFAULT] preallocate_images = space``, formatted ext4
(unprivileged: it is a file of the nova user), mounted on the host through
a loop device that goes away with the mount, and bind-mounted into the
container at ``[docker] ephemeral_path`` + ``N`` (``/ephemeral0``). It is
made at spawn, mounted again after a host reboot, kept across stop, start,
reboot and resize, and removed with the instance.
"""

import os

from nova import exception
from nova.i18n import _
from nova.virt import driver
from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units

from novadocker.privsep import storage
from novadocker.virt.docker.disks import mountinfo

LOG = logging.getLogger(__name__)

DIR_NAME = 'ephemeral'
DIR_MODE = 0o700
FILE_MODE = 0o600


def disks(block_device_info):
    """``(num, size in GiB)`` of each ephemeral disk Nova asks for;
    refuses a filesystem other than ext4 (the build is aborted).
    """
    found = []
    for eph in driver.block_device_info_get_ephemerals(block_device_info):
        fmt = eph.get('guest_format')
        if fmt and fmt != 'ext4':
            raise exception.InvalidInput(reason=_(
                'ephemeral disks of containers are ext4, not %s') % fmt)
        found.append((int(eph.get('num') or 0), int(eph['size'])))
    return sorted(found)


def names(num):
    return 'disk.eph%d' % num, 'eph%d' % num


class EphemeralDisks(object):
    def __init__(self, files, container_path, preallocate):
        self._files = files
        self._container_path = container_path
        self._preallocate = preallocate

    def _paths(self, instance, num):
        top = self._files.path(instance.uuid, DIR_NAME)
        image, mnt = names(num)
        return os.path.join(top, image), os.path.join(top, mnt)

    def _docker_mount(self, instance, num):
        return {'Type': 'bind', 'Source': self._paths(instance, num)[1],
                'Target': '%s%d' % (self._container_path, num),
                'ReadOnly': False}

    def create(self, instance, block_device_info):
        """Make, format and mount the disks; returns their Docker mounts.
        Leaves nothing behind when a step fails.
        """
        wanted = disks(block_device_info)
        if not wanted:
            return []
        self._files.ensure(instance.uuid, DIR_NAME, DIR_MODE)
        try:
            for num, size_gb in wanted:
                self._make(instance, num, size_gb)
        except Exception:
            with excutils.save_and_reraise_exception():
                self.remove(instance)
        return [self._docker_mount(instance, num) for num, _s in wanted]

    def _make(self, instance, num, size_gb):
        image, mnt = self._paths(instance, num)
        fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            if self._preallocate:
                os.posix_fallocate(fd, 0, size_gb * units.Gi)
            else:
                os.ftruncate(fd, size_gb * units.Gi)
        finally:
            os.close(fd)
        processutils.execute(
            'mkfs.ext4', '-q', '-F', '-E',
            'nodiscard,lazy_itable_init=1,lazy_journal_init=1', '--', image)
        os.mkdir(mnt, 0o755)
        storage.mount_file(image, mnt)
        LOG.info('Ephemeral disk %d (%d GiB) mounted at %s%d', num, size_gb,
                 self._container_path, num, instance=instance)

    def mounts(self, instance, block_device_info):
        return [self._docker_mount(instance, num)
                for num, _s in disks(block_device_info)]

    def ensure(self, instance, block_device_info):
        """Mount again the disks that are not mounted (host reboot)."""
        for num, _size in disks(block_device_info):
            image, mnt = self._paths(instance, num)
            if not os.path.exists(image):
                raise exception.DiskNotFound(location=image)
            if mountinfo.find(mnt) is None:
                storage.mount_file(image, mnt)

    def remove(self, instance):
        """Unmount and delete every disk; absent is fine."""
        top = self._files.path(instance.uuid, DIR_NAME)
        if not os.path.isdir(top):
            return
        for target in mountinfo.below(top):
            storage.unmount(target)
        for name in os.listdir(top):
            path = os.path.join(top, name)
            if os.path.isdir(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        self._files.remove(instance.uuid, DIR_NAME)


def check_resize(instance, new_flavor):
    """A resize keeps the ephemeral disk: refuse one that changes its
    size, before anything changes.
    """
    old = instance.flavor.ephemeral_gb
    if new_flavor.ephemeral_gb != old:
        raise exception.InstanceFaultRollback(
            inner_exception=exception.ResizeError(reason=_(
                'the ephemeral disk of a container keeps its size '
                '(%(old)d GiB); flavor %(new)s has %(size)d GiB') % {
                    'old': old, 'new': new_flavor.name,
                    'size': new_flavor.ephemeral_gb}))
