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

"""Files the driver renders for an instance, kept on the compute host.

Everything lives under ``<instances_path>/<uuid>/``, which is created with
mode 0700 so that other users of the host cannot read user data, admin
passwords or keys. Each feature owns one sub-directory (the config drive,
the key file, the network files) and removes it; the instance directory
goes once it is empty. Removing never crosses into a mounted file system
(a volume, an ephemeral disk): their owners unmount them first, and a
directory with a mount still beneath it is refused, never emptied.
"""

import os
import shutil

from nova import exception
from nova.i18n import _
from oslo_log import log as logging

from novadocker.virt.docker.disks import mountinfo

LOG = logging.getLogger(__name__)

INSTANCE_DIR_MODE = 0o700


class FilesStillMounted(exception.NovaException):
    msg_fmt = _("%(path)s is not removed: file systems are still mounted "
                "on or beneath it (%(mounts)s)")


def _remove_tree(path):
    """Remove ``path`` and everything beneath it; absent is fine. Raises
    FilesStillMounted, removing nothing, when a file system is mounted on
    or beneath it; any other failure raises too.
    """
    mounted = mountinfo.below(path, inclusive=True)
    if mounted:
        raise FilesStillMounted(path=path, mounts=', '.join(mounted))
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass


class InstanceFiles(object):
    def __init__(self, instances_path):
        self._instances_path = instances_path

    def instance_dir(self, instance_uuid):
        return os.path.join(self._instances_path, instance_uuid)

    def path(self, instance_uuid, name):
        return os.path.join(self.instance_dir(instance_uuid), name)

    def ensure(self, instance_uuid, name, mode):
        """Sub-directory ``name`` of the instance's directory, created if
        missing and otherwise kept as it is (it may hold mounts).
        """
        self._make_top(instance_uuid)
        path = self.path(instance_uuid, name)
        try:
            os.mkdir(path, mode)
            os.chmod(path, mode)
        except FileExistsError:
            pass
        return path

    def _make_top(self, instance_uuid):
        top = self.instance_dir(instance_uuid)
        os.makedirs(self._instances_path, exist_ok=True)
        try:
            os.mkdir(top, INSTANCE_DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(top, INSTANCE_DIR_MODE)

    def create(self, instance_uuid, name, mode):
        """An empty sub-directory ``name`` of the instance's directory.

        Whatever an earlier attempt left there is removed first.
        """
        self._make_top(instance_uuid)
        path = self.path(instance_uuid, name)
        _remove_tree(path)
        os.mkdir(path, mode)
        # mkdir honours the umask; the mode asked for is the mode wanted.
        os.chmod(path, mode)
        return path

    def remove(self, instance_uuid, name):
        """Remove sub-directory ``name``, and the instance's directory when
        nothing else is left in it. What is already gone is fine; with a
        file system still mounted beneath it, FilesStillMounted and
        nothing removed.
        """
        _remove_tree(self.path(instance_uuid, name))
        try:
            os.rmdir(self.instance_dir(instance_uuid))
        except FileNotFoundError:
            pass
        except OSError:
            # Not empty: another feature still keeps files there.
            pass


def write_file(path, data, mode):
    """Create ``path`` (which must not exist) with ``data`` (bytes)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)
