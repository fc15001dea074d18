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

"""Files rendered for a container and bind-mounted read-only into it: the
config drive (configdrive.py) and root's authorized_keys (keys.py).

They are written once at spawn, under the instance's directory
(instancefiles.py), and removed with the instance by :meth:`remove`, which
also removes what a failed :meth:`create` left (the build's rollback calls
it, see rollback.py).
"""

from novadocker.virt.docker import configdrive
from novadocker.virt.docker import instancefiles
from novadocker.virt.docker import keys


class RenderedFiles(object):
    def __init__(self, instances_path):
        files = instancefiles.InstanceFiles(instances_path)
        self._config_drives = configdrive.ConfigDrives(files)
        self._keys = keys.AuthorizedKeys(files)

    def create(self, instance, injected_files, admin_password, network_info,
               config_drive_path, inject_key):
        """Render the files; returns ``{path in the container: path on the
        host}``.
        """
        mounts = {}
        drive = self._config_drives.create(
            instance, injected_files, admin_password, network_info)
        if drive:
            mounts[config_drive_path] = drive
        mounts.update(self._keys.create(instance, inject_key))
        return mounts

    def remove(self, instance):
        self._config_drives.remove(instance)
        self._keys.remove(instance)

    def carried(self, instance):
        """What a move takes along to render the files again elsewhere
        (``configdrive.ConfigDrives.carried``); JSON-able.
        """
        return self._config_drives.carried(instance)

    @staticmethod
    def from_carried(carried):
        """``(injected_files, admin_password)`` for :meth:`create`."""
        return configdrive.from_carried(carried)
