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

"""A config drive for containers: the OpenStack tree, bind-mounted.

A virtual machine gets its config drive as an ISO image; a container gets
the same files as a read-only directory, at ``[docker] config_drive_path``
(``/config-drive`` by default, where cloud-init's ConfigDrive data source
looks for a directory). The files are what nova's own metadata classes
produce for a config drive (``nova.api.metadata.base.InstanceMetadata``):
``openstack/latest/meta_data.json``, ``user_data``, ``network_data.json``,
``vendor_data.json``, ``vendor_data2.json``, the dated versions, the EC2
tree and injected files under ``openstack/content/``.

The tree is rendered once, at spawn, and removed on destroy. A move to
another host renders it again there with what Nova cannot give twice,
read back from this one (:meth:`ConfigDrives.carried`): the injected
files and the admin password.
"""

import base64
import json
import os

from nova.api.metadata import base as instance_metadata
from nova import exception
from nova.i18n import _
from nova.virt import configdrive as nova_configdrive
from oslo_log import log as logging

from novadocker.virt.docker import instancefiles

LOG = logging.getLogger(__name__)

DIR_NAME = 'docker-config-drive'
# Readable inside the container by any user, as an ISO config drive is;
# the instance directory above it (0700) keeps other host users out.
DIR_MODE = 0o755
FILE_MODE = 0o644


def wanted(instance):
    """True when the instance gets a config drive: nova asks for one
    (``config_drive``, ``[DEFAULT] force_config_drive``, the image's
    ``img_config_drive=mandatory``), or it has user data, a key pair or
    metadata for the image to read.
    """
    return bool(nova_configdrive.required_by(instance) or
                instance.user_data or instance.key_data or
                instance.metadata)


def metadata_items(instance, injected_files, admin_password, network_info):
    """``(path, data)`` pairs of the config drive, from nova's metadata
    classes (which look the instance's key pairs and security groups up).
    """
    extra_md = {}
    if admin_password:
        extra_md['admin_pass'] = admin_password
    md = instance_metadata.InstanceMetadata(
        instance, content=injected_files, extra_md=extra_md,
        network_info=network_info)
    return md.metadata_for_config_drive()


def _target(root, relpath):
    """``root/relpath``, refusing anything that would leave ``root``."""
    path = os.path.normpath(os.path.join(root, relpath))
    if os.path.isabs(relpath) or not path.startswith(root + os.sep):
        raise exception.InvalidInput(
            reason=_('config drive path %s is outside the drive') % relpath)
    return path


def render(root, items):
    """Write ``(path, data)`` pairs (str or bytes) below ``root``."""
    for relpath, data in items:
        path = _target(root, relpath)
        parent = os.path.dirname(path)
        os.makedirs(parent, mode=DIR_MODE, exist_ok=True)
        if isinstance(data, str):
            data = data.encode('utf-8')
        instancefiles.write_file(path, data, FILE_MODE)
    for top, dirs, _files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(top, name), DIR_MODE)


class ConfigDrives(object):
    def __init__(self, files):
        self._files = files

    def create(self, instance, injected_files, admin_password,
               network_info):
        """Render the instance's config drive when it gets one; returns the
        host directory, or None. :meth:`remove` removes what a failure
        left.
        """
        if not wanted(instance):
            return None
        root = self._files.create(instance.uuid, DIR_NAME, DIR_MODE)
        render(root, metadata_items(instance, injected_files,
                                    admin_password, network_info))
        # What the API shows: this instance has a config drive.
        instance.config_drive = 'True'
        LOG.debug('Rendered the config drive in %s', root,
                  instance=instance)
        return root

    def remove(self, instance):
        self._files.remove(instance.uuid, DIR_NAME)

    def carried(self, instance):
        """What of the rendered drive Nova only gives at spawn, for the
        drive of a move: ``{'files': [[path, base64]], 'admin_pass':
        str or None}``, or None without a drive.
        """
        openstack = os.path.join(self._files.path(instance.uuid, DIR_NAME),
                                 'openstack')
        try:
            with open(os.path.join(openstack, 'latest',
                                   'meta_data.json')) as f:
                meta = json.load(f)
        except FileNotFoundError:
            return None
        files = []
        for entry in meta.get('files') or ():
            path = _target(openstack, entry['content_path'].lstrip('/'))
            with open(path, 'rb') as f:
                files.append([entry['path'],
                              base64.b64encode(f.read()).decode()])
        return {'files': files, 'admin_pass': meta.get('admin_pass')}

    def refresh_disks(self, instance, disks):
        """Rewrite the ``devices`` disk entries of every ``meta_data.json``
        that lists devices, after a volume came or went; other entries and
        keys stay. ``disks`` are entries as the metadata API renders them.
        Each file is replaced whole (a rename), so a reader inside the
        container sees the old or the new file, never half of one.
        """
        root = os.path.join(self._files.path(instance.uuid, DIR_NAME),
                            'openstack')
        if not os.path.isdir(root):
            return
        for version in sorted(os.listdir(root)):
            path = os.path.join(root, version, 'meta_data.json')
            try:
                with open(path) as f:
                    meta = json.load(f)
            except FileNotFoundError:
                continue
            if 'devices' not in meta:
                continue
            meta['devices'] = [d for d in meta['devices']
                               if d.get('type') != 'disk'] + list(disks)
            tmp = path + '.new'
            if os.path.lexists(tmp):
                os.unlink(tmp)
            instancefiles.write_file(tmp, json.dumps(meta).encode('utf-8'),
                                     FILE_MODE)
            os.replace(tmp, path)


def from_carried(carried):
    """``(injected_files, admin_password)`` for :meth:`ConfigDrives.create`
    from what :meth:`ConfigDrives.carried` returned (or None).
    """
    if not carried:
        return [], None
    return ([(path, base64.b64decode(data))
             for path, data in carried.get('files') or ()],
            carried.get('admin_pass'))
