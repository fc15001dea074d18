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

"""An instance's volumes and ephemeral disks, for the driver: one call per
step of the instance's life.
"""

import os

from nova import exception
from nova.i18n import _
from nova import objects
from nova.virt import driver
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.virt.docker import configdrive
from novadocker.virt.docker.disks import ephemeral
from novadocker.virt.docker.disks import mountinfo
from novadocker.virt.docker.disks import volumes
from novadocker.virt.docker import instancefiles

LOG = logging.getLogger(__name__)


def check_boot(instance):
    """Refuse a root volume (boot from volume) before anything is
    attached: a container's root file system is its image.
    """
    if not instance.image_ref:
        raise exception.InstanceUnacceptable(
            instance_id=instance.uuid,
            reason=_('the Docker driver boots containers from images; a '
                     'root volume (boot from volume) is not supported'))


def _volume_bdms(context, instance):
    """``{volume id: (tag, device name)}`` of the instance's volume
    attachments in Nova's database; empty without a request context
    (driver tests), which then gets device names only.
    """
    if context is None:
        return {}
    bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(
        context, instance.uuid)
    return {bdm.volume_id: (bdm.tag, bdm.device_name) for bdm in bdms
            if bdm.is_volume and bdm.volume_id}


def _device_metadata(instance, described):
    """``instance.device_metadata`` with one disk entry per volume
    (``path``: where the container sees it); other devices kept.
    """
    current = instance.device_metadata
    devices = [d for d in (current.devices if current else [])
               if not isinstance(d, objects.DiskMetadata)]
    for vol_id, path, tag in described:
        devices.append(objects.DiskMetadata(
            serial=vol_id, path=path, tags=[tag] if tag else []))
    instance.device_metadata = objects.InstanceDeviceMetadata(
        devices=devices)


def disk_entries(device_metadata):
    """The disk entries of ``meta_data.json``'s ``devices``, as nova's
    metadata API renders a DiskMetadata without a bus.
    """
    return [{'type': 'disk', 'bus': 'none', 'address': 'none',
             'serial': d.serial, 'path': d.path, 'tags': d.tags}
            for d in (device_metadata.devices if device_metadata else [])
            if isinstance(d, objects.DiskMetadata)]


class InstanceDisks(object):
    def __init__(self, volume_store, ephemeral_store, config_drives=None):
        self._volumes = volume_store
        self._ephemeral = ephemeral_store
        self._config_drives = config_drives

    @classmethod
    def from_conf(cls, conf, containers):
        files = instancefiles.InstanceFiles(conf.instances_path)
        return cls(
            volumes.Volumes(
                files, containers, conf.host, conf.my_block_storage_ip,
                conf.docker.volumes_path, conf.docker.volume_filesystems,
                conf.docker.volume_busy_timeout,
                conf.docker.volume_use_multipath),
            ephemeral.EphemeralDisks(
                files, conf.docker.ephemeral_path,
                conf.preallocate_images == 'space'),
            configdrive.ConfigDrives(files))

    def check_resize(self, instance, flavor):
        ephemeral.check_resize(instance, flavor)

    def connector(self):
        return self._volumes.connector_properties()

    def volume_devices(self, instance):
        """``{mount name: (major, minor)}`` of the block devices behind
        the instance's mounted volumes (diagnostics.py reads their I/O).
        """
        top = self._volumes.host_dir(instance)
        found = {}
        for target in mountinfo.below(top):
            name = os.path.relpath(target, top)
            if '/' not in name:
                dev = os.stat(target).st_dev
                found[name] = (os.major(dev), os.minor(dev))
        return found

    def _volume(self, context, instance, connection_info, mountpoint=None):
        tag, device_name = _volume_bdms(context, instance).get(
            volumes.volume_id(connection_info), (None, None))
        return volumes.volume(connection_info, tag,
                              mountpoint or device_name)

    def _volume_list(self, context, instance, block_device_info):
        mapping = driver.block_device_info_get_mapping(block_device_info)
        bdms = _volume_bdms(context, instance) if mapping else {}
        found = []
        for bdm in mapping:
            info = bdm['connection_info']
            tag = bdms.get(volumes.volume_id(info), (None, None))[0]
            found.append(volumes.volume(info, tag, bdm['mount_device']))
        return found

    def _describe(self, context, instance, without=None):
        """Record where each attached volume is (config drive and metadata
        service device metadata).
        """
        described = []
        for vol_id, (tag, device_name) in sorted(
                _volume_bdms(context, instance).items()):
            if vol_id == without:
                continue
            name = volumes.mount_name(vol_id, tag, device_name)
            described.append(
                (vol_id, self._volumes.container_path_of(name), tag))
        _device_metadata(instance, described)

    def create(self, context, instance, block_device_info):
        """Make the ephemeral disks and mount the volumes; returns the
        Docker mounts the container needs. Nothing stays when a step
        fails.
        """
        vols = self._volume_list(context, instance, block_device_info)
        if vols and context is not None:
            self._describe(context, instance)
        mounts = self._ephemeral.create(instance, block_device_info)
        try:
            mounts.append(self._volumes.prepare(instance))
            for vol in vols:
                self._volumes.attach(instance, vol, check_propagation=False)
        except Exception:
            with excutils.save_and_reraise_exception():
                self.remove(context, instance, block_device_info)
        return mounts

    def ensure(self, context, instance, block_device_info):
        """Before a start: mount again what a host reboot unmounted."""
        self._ephemeral.ensure(instance, block_device_info)
        self._volumes.ensure(instance, self._volume_list(
            context, instance, block_device_info))

    def remove(self, context, instance, block_device_info):
        self._volumes.remove(instance, [
            bdm['connection_info'] for bdm in
            driver.block_device_info_get_mapping(block_device_info)])
        self._ephemeral.remove(instance)

    def disconnect_volumes(self, instance, block_device_info):
        """Unmount and disconnect the volumes (a move to another host
        attaches them there); the ephemeral disks stay, and so does the
        (empty) volumes directory the stopped container has mounted.
        """
        infos = [bdm['connection_info'] for bdm in
                 driver.block_device_info_get_mapping(block_device_info)]
        if infos:
            self._volumes.remove(instance, infos)
            self._volumes.prepare(instance)

    def attach(self, context, instance, connection_info, mountpoint,
               encryption=None):
        vol = self._volume(context, instance, connection_info, mountpoint)
        self._volumes.attach(instance, vol, encryption=encryption)
        self._save_metadata(context, instance)

    def detach(self, context, instance, connection_info, mountpoint):
        vol = self._volume(context, instance, connection_info, mountpoint)
        self._volumes.detach(instance, vol)
        self._save_metadata(context, instance, without=vol.volume_id)

    def _save_metadata(self, context, instance, without=None):
        if context is None:
            return
        self._describe(context, instance, without)
        instance.save()
        if self._config_drives is not None:
            self._config_drives.refresh_disks(
                instance, disk_entries(instance.device_metadata))

    def extend(self, context, instance, connection_info):
        return self._volumes.extend(
            instance, self._volume(context, instance, connection_info))
