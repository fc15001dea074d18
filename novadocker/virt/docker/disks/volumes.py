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

"""Cinder volumes as filesystems a running container sees come and go.

Each instance has a host directory, ``<instances_path>/<uuid>/volumes``,
made a shared mount of its own and bind-mounted read-only into the
container at ``[docker] volumes_path`` with ``rslave`` propagation. A
volume is connected through os-brick (the connector named by Cinder's
``driver_volume_type``), and its filesystem is mounted on the host at
``<that directory>/<name>``: the mount propagates into the container,
running or not, and so does the unmount. ``<name>`` is the attachment's
tag when it has one, else the device name Nova gave it (``vdb``).

Nothing is ever formatted unless it is blank (see ``classify``), nothing
is unmounted lazily, and a failed step undoes the steps before it.
"""

import collections
import errno
import os
import re
import time

from nova import exception
from nova.i18n import _
from nova import utils as nova_utils
from os_brick.initiator import connector as brick_connector
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.privsep import storage
from novadocker.virt.docker.disks import mountinfo

LOG = logging.getLogger(__name__)

DIR_NAME = 'volumes'
DIR_MODE = 0o755
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
BUSY_RETRY_INTERVAL = 0.5

Volume = collections.namedtuple(
    'Volume', 'volume_id name connection_info read_only')


class VolumeRefused(exception.InvalidInput):
    """The volume cannot be used as it is; nothing was changed on it."""
    msg_fmt = _('Volume %(volume_id)s cannot be used by this container: '
                '%(reason)s')


# Pure rules

def volume_id(connection_info):
    return (connection_info.get('serial') or
            connection_info.get('data', {}).get('volume_id'))


def read_only(connection_info):
    return connection_info.get('data', {}).get('access_mode') == 'ro'


def mount_name(vol_id, tag, device_name):
    """The directory a volume gets: its tag, else its device name's last
    part (``/dev/vdb``: ``vdb``).
    """
    name = tag or os.path.basename(device_name or '')
    if not _NAME.match(name):
        raise VolumeRefused(volume_id=vol_id, reason=_(
            'its mount name %r (from the tag, else the device name) must '
            'be 1-63 letters, digits, ".", "_" or "-", not starting with '
            'a dot or dash') % name)
    return name


def volume(connection_info, tag, device_name):
    vol_id = volume_id(connection_info)
    return Volume(vol_id, mount_name(vol_id, tag, device_name),
                  connection_info, read_only(connection_info))


def classify(vol, fields, filesystems):
    """What to do with a device that ``storage.probe`` described:
    ``('mount', fstype)`` or ``('format', 'ext4')``; raises VolumeRefused
    for anything else.
    """
    def refuse(reason):
        raise VolumeRefused(volume_id=vol.volume_id, reason=reason)

    if fields.get('blank'):
        if vol.read_only:
            refuse(_('it is blank and attached read-only, so it cannot be '
                     'formatted'))
        return 'format', 'ext4'
    if fields.get('PTTYPE'):
        refuse(_('it holds a partition table (%s); only a filesystem on '
                 'the whole volume is mounted') % fields['PTTYPE'])
    fstype = fields.get('TYPE')
    if not fstype:
        refuse(_('it holds data that is neither a filesystem nor blank; '
                 'it is left as it is'))
    if fields.get('USAGE') != 'filesystem' or fstype not in filesystems:
        refuse(_('it holds %(type)s, not a filesystem this host mounts '
                 '(%(allowed)s)') % {'type': fstype,
                                     'allowed': ', '.join(filesystems)})
    return 'mount', fstype


def docker_mount(host_dir, container_path):
    """The container's view of the volumes directory: read-only itself,
    with every mount made below it later showing up inside.

    Read-only only at the top: from Engine API 1.44 (Docker 25) a
    read-only bind is recursively read-only unless ReadOnlyNonRecursive
    says otherwise, which would make every volume read-only too. Older
    engines ignore the field (their read-only binds never recurse).
    """
    return {'Type': 'bind', 'Source': host_dir, 'Target': container_path,
            'ReadOnly': True,
            'BindOptions': {'Propagation': 'rslave',
                            'ReadOnlyNonRecursive': True}}


def _refuse_unsupported(vol, encryption):
    if encryption or vol.connection_info.get('data', {}).get('encrypted'):
        raise exception.VolumeEncryptionNotSupported(
            volume_type='encrypted', volume_id=vol.volume_id)


class Volumes(object):
    """Attach, detach, remount and grow an instance's volumes."""

    def __init__(self, files, containers, host, my_ip, container_path,
                 filesystems, busy_timeout, multipath=False):
        self._files = files
        self._containers = containers
        self._host = host
        self._my_ip = my_ip
        self._container_path = container_path
        self._filesystems = list(filesystems)
        self._busy_timeout = busy_timeout
        self._multipath = multipath
        self._connectors = {}

    def host_dir(self, instance):
        return self._files.path(instance.uuid, DIR_NAME)

    def container_path_of(self, name):
        return '%s/%s' % (self._container_path.rstrip('/'), name)

    def container_path(self, vol):
        return self.container_path_of(vol.name)

    def connector_properties(self):
        """What Cinder needs to export volumes to this host."""
        return brick_connector.get_connector_properties(
            nova_utils.get_root_helper(), self._my_ip, self._multipath,
            enforce_multipath=True, host=self._host)

    def _brick(self, connection_info):
        protocol = connection_info.get('driver_volume_type') or ''
        if protocol not in self._connectors:
            try:
                self._connectors[protocol] = (
                    brick_connector.InitiatorConnector.factory(
                        protocol.upper(), nova_utils.get_root_helper(),
                        use_multipath=self._multipath))
            except ValueError as e:
                raise exception.VolumeAttachFailed(
                    volume_id=volume_id(connection_info),
                    reason=_('os-brick has no connector for %(type)r: '
                             '%(error)s') % {'type': protocol, 'error': e})
        return self._connectors[protocol]

    # The shared directory

    def prepare(self, instance):
        """The instance's volumes directory, shared; returns the Docker
        mount that shows it in the container.
        """
        path = self.host_dir(instance)
        self._files.ensure(instance.uuid, DIR_NAME, DIR_MODE)
        mount = mountinfo.find(path)
        if mount is None or not mount.shared:
            storage.make_shared(path)
        return docker_mount(path, self._container_path)

    # Attach

    def attach(self, instance, vol, encryption=None, check_propagation=True):
        """Connect ``vol`` and mount its filesystem; undoes every step
        when one fails.
        """
        _refuse_unsupported(vol, encryption)
        target = os.path.join(self.host_dir(instance), vol.name)
        if os.path.lexists(target):
            raise VolumeRefused(volume_id=vol.volume_id, reason=_(
                '%s is already taken by another volume') %
                self.container_path(vol))
        self.prepare(instance)
        device = self._connect(instance, vol)
        try:
            fstype = self._filesystem(instance, vol, device)
            os.mkdir(target, 0o755)
            try:
                self._mount(vol, device, target, fstype)
                try:
                    if check_propagation:
                        self._check_propagation(instance, vol, target)
                except Exception:
                    with excutils.save_and_reraise_exception():
                        storage.unmount(target)
            except Exception:
                with excutils.save_and_reraise_exception():
                    os.rmdir(target)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._disconnect(vol.connection_info)
        LOG.info('Volume %(id)s (%(type)s) mounted at %(path)s',
                 {'id': vol.volume_id, 'type': fstype,
                  'path': self.container_path(vol)}, instance=instance)

    def _connect(self, instance, vol):
        try:
            info = self._brick(vol.connection_info).connect_volume(
                vol.connection_info['data'])
        except exception.NovaException:
            raise
        except Exception as e:
            LOG.exception('Connecting volume %s failed: %s', vol.volume_id,
                          e, instance=instance)
            raise exception.VolumeAttachFailed(
                volume_id=vol.volume_id,
                reason=_('connecting it failed: %s') % e) from e
        device = info.get('path') if isinstance(info, dict) else None
        if not isinstance(device, str) or not device.startswith('/dev/'):
            self._disconnect(vol.connection_info)
            raise exception.VolumeAttachFailed(
                volume_id=vol.volume_id,
                reason=_('its connector gave no block device (%r)') % info)
        return device

    def _filesystem(self, instance, vol, device):
        """The filesystem to mount; a blank volume is formatted first."""
        action, fstype = classify(vol, storage.probe(device),
                                  self._filesystems)
        if action == 'format':
            LOG.info('Volume %s is blank: making an ext4 filesystem',
                     vol.volume_id, instance=instance)
            try:
                storage.format_blank(device)
            except storage.NotBlank as e:
                raise VolumeRefused(volume_id=vol.volume_id,
                                    reason=str(e)) from e
            except Exception as e:
                raise exception.VolumeAttachFailed(
                    volume_id=vol.volume_id,
                    reason=_('formatting it failed: %s') % e) from e
        return fstype

    def _mount(self, vol, device, target, fstype):
        try:
            storage.mount(device, target, fstype, vol.read_only)
        except OSError as e:
            raise exception.VolumeAttachFailed(
                volume_id=vol.volume_id,
                reason=_('its %(type)s filesystem cannot be mounted '
                         '(%(error)s); the volume was not changed') % {
                    'type': fstype, 'error': e}) from e

    def _check_propagation(self, instance, vol, target):
        """The mount must be visible inside a running container."""
        try:
            state = self._containers.inspect(instance)['State']
        except exception.InstanceNotFound:
            return
        pid = state.get('Pid') if state.get('Running') else None
        if not pid:
            return
        inside = self.container_path(vol)
        if mountinfo.find(inside, pid=pid) is None:
            raise exception.VolumeAttachFailed(
                volume_id=vol.volume_id,
                reason=_('the mount did not propagate into the container '
                         '(is %s a shared mount?)') % self.host_dir(instance))

    def _disconnect(self, connection_info):
        self._brick(connection_info).disconnect_volume(
            connection_info['data'], None)

    # Detach

    def detach(self, instance, vol):
        """Unmount (after a sync) and disconnect ``vol``. While the
        filesystem is busy, retries for ``busy_timeout`` seconds, then
        refuses with everything still attached.
        """
        target = os.path.join(self.host_dir(instance), vol.name)
        self._unmount(instance, vol.name, target)
        self._disconnect(vol.connection_info)
        LOG.info('Volume %s unmounted from %s', vol.volume_id,
                 self.container_path(vol), instance=instance)

    def _unmount(self, instance, name, target):
        if not os.path.lexists(target):
            return
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                storage.unmount(target)
                break
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise exception.DeviceDetachFailed(
                        device=self.container_path_of(name),
                        reason=_('the filesystem is in use inside the '
                                 'container; it stays attached')) from e
                time.sleep(BUSY_RETRY_INTERVAL)
        os.rmdir(target)

    # Whole instance

    def ensure(self, instance, vols):
        """Mount again whatever is not mounted (after a host reboot)."""
        if not vols and not os.path.isdir(self.host_dir(instance)):
            # Nothing attached, and a container made before volumes.
            return
        self.prepare(instance)
        for vol in vols:
            target = os.path.join(self.host_dir(instance), vol.name)
            if mountinfo.find(target) is not None:
                continue
            if os.path.isdir(target):
                os.rmdir(target)
            self.attach(instance, vol, check_propagation=False)

    def remove(self, instance, connection_infos):
        """Unmount everything, disconnect every volume in
        ``connection_infos``; the directory goes too.
        """
        path = self.host_dir(instance)
        for target in mountinfo.below(path):
            self._unmount(instance, os.path.basename(target), target)
        for name in (os.listdir(path) if os.path.isdir(path) else ()):
            # Mount points left empty (rmdir: never anything with data).
            os.rmdir(os.path.join(path, name))
        for info in connection_infos:
            self._disconnect(info)
        while mountinfo.find(path) is not None:
            storage.unmount(path)
        if os.path.isdir(path):
            os.rmdir(path)
        self._files.remove(instance.uuid, DIR_NAME)

    # Grow

    def extend(self, instance, vol):
        """Grow the mounted filesystem to the volume's new size."""
        target = os.path.join(self.host_dir(instance), vol.name)
        mount = mountinfo.find(target)
        if mount is None:
            raise exception.ExtendVolumeNotSupported()
        size = self._brick(vol.connection_info).extend_volume(
            vol.connection_info['data'])
        storage.grow(mount.source, target, mount.fstype)
        LOG.info('Grew the filesystem of volume %s to %s bytes',
                 vol.volume_id, size, instance=instance)
        return size
