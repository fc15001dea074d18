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

"""Rescue: a second container that sees the server's root file system.

While the instance's container is stopped, its root file system (the
image's layers under the container's own writable layer, as Docker's
overlay2 storage driver or containerd's overlayfs snapshotter keeps them)
is mounted at ``<instances_path>/<uuid>/rescue/root``
and bind-mounted read-write at :data:`RESCUE_PATH` into the rescue
container ``nova-<uuid>-rescue``, which runs the rescue image in the
server's network namespace (its ports) with the flavor's limits. Changes
made under ``/rescue`` land in the server's writable layer itself; unrescue
removes the rescue container, unmounts, and the server starts with them.

The rescue password becomes root's password in the rescue container when
its image has ``chpasswd`` (password.py); without it, the rescue goes on
and the password is not set. While rescued, the server's power state is
the rescue container's.
"""

import json
import os
import shutil

from nova import exception as nova_exception
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.privsep import rescue_fs
from novadocker.virt.docker import containers
from novadocker.virt.docker.disks import mountinfo
from novadocker.virt.docker import labels as labels_mod
from novadocker.virt.docker import password

LOG = logging.getLogger(__name__)

RESCUE_PATH = '/rescue'
ROLE = 'rescue'
STATE_DIR = 'rescue'
OVERLAY = 'overlay2'
#: The storage of an engine with the containerd image store.
SNAPSHOTTER = 'overlayfs'
#: Where the layers of the instance's container are recorded in the
#: instance's directory (containerd's snapshotter).
LAYERS_FILE = 'rescue-layers.json'


def name(instance_uuid):
    return 'nova-%s-rescue' % instance_uuid


def _not_rescuable(instance, reason):
    return nova_exception.InstanceNotRescuable(instance_id=instance.uuid,
                                               reason=reason)


def layers(instance, info):
    """``(lowerdirs, upperdir, workdir)`` of a container's root file
    system kept by overlay2 (its ``docker inspect`` says where);
    InstanceNotRescuable when it is not.
    """
    graph = info.get('GraphDriver') or {}
    data = graph.get('Data') or {}
    if graph.get('Name') != OVERLAY or not data.get('UpperDir'):
        raise _not_rescuable(
            instance, 'rescue needs Docker\'s overlay2 storage driver or '
                      'containerd\'s overlayfs snapshotter (this engine '
                      'uses %s)' % graph.get('Name'))
    return (data['LowerDir'].split(':'), data['UpperDir'], data['WorkDir'])


def engine_root_mount(container_id, mounts):
    """The overlay the engine mounted as the running ``container_id``'s
    root file system on the containerd image store (at
    ``<data-root>/rootfs/overlayfs/<id>``; overlay2 names it otherwise),
    or None.
    """
    found = [m for m in mounts if m.fstype == 'overlay' and
             os.path.basename(m.target) == container_id]
    return found[-1] if found else None


def mount_layers(instance, mount):
    """``(lowerdirs, upperdir, workdir)`` of an overlay ``mount``;
    InstanceNotRescuable when its directories are not absolute paths
    (containerd shortens the options of an image with very many layers
    to paths relative to a directory only it knows).
    """
    options = dict(o.partition('=')[::2] for o in mount.super_options)
    dirs = options.get('lowerdir', '').split(':') + [
        options.get('upperdir', ''), options.get('workdir', '')]
    if not all(d.startswith('/') for d in dirs):
        raise _not_rescuable(instance, 'the engine mounts the root file '
                                       'system without absolute paths')
    return dirs[:-2], dirs[-2], dirs[-1]


def container_args(args, instance, host, root):
    """Create arguments of the rescue container from those of a server
    container (``translator.container_args``).
    """
    labels = labels_mod.instance_labels(instance, host)
    labels[labels_mod.LABEL_ROLE] = ROLE
    args = dict(args, name=name(instance.uuid), labels=labels)
    host_config = args['host_config'] = dict(args['host_config'])
    host_config['mounts'] = [{'Type': 'bind', 'Source': root,
                              'Target': RESCUE_PATH, 'ReadOnly': False}]
    return args


class Rescues(object):
    def __init__(self, client, host, instances_path):
        self._client = client
        self._host = host
        self._instances_path = instances_path

    def _dir(self, instance):
        return os.path.join(self._instances_path, instance.uuid, STATE_DIR)

    def _root(self, instance):
        return os.path.join(self._dir(instance), 'root')

    def start(self, instance, info, args, network=None,
              rescue_password=None):
        """Mount the stopped container ``info``'s root file system and run
        the rescue container (``args``) with it at /rescue, root's
        password set to ``rescue_password`` where the image can.
        ``network(args)``, when given, gives the arguments of a rescue
        container with the server's ports (``Network.prepare``).
        """
        lower, upper, work = self._layers(instance, info)
        root = self._root(instance)
        os.makedirs(root, mode=0o700, exist_ok=True)
        try:
            rescue_fs.mount_overlay(lower, upper, work, root)
            args = container_args(args, instance, self._host, root)
            if network is not None:
                args = network(args)
            rescue_id = self._client.create_container(**args)['Id']
            self._client.start(rescue_id)
        except Exception:
            with excutils.save_and_reraise_exception():
                self.stop(instance)
        LOG.info('Rescue container %s runs with the root file system at '
                 '%s', rescue_id, RESCUE_PATH, instance=instance)
        if rescue_password:
            self._set_password(instance, rescue_id, rescue_password)

    def _layers(self, instance, info):
        if (info.get('GraphDriver') or {}).get('Name') == SNAPSHOTTER:
            return self._recorded_layers(instance, info['Id'])
        return layers(instance, info)

    def _record(self, instance):
        return os.path.join(self._instances_path, instance.uuid,
                            LAYERS_FILE)

    def remember(self, instance, info):
        """After the container ``info`` (its ``docker inspect``) started:
        where its root file system's layers are, when the engine keeps
        them in containerd's snapshotter (``docker inspect`` does not
        say; the engine's mount of them, there only while the container
        runs, does). Nothing on other engines, not even a look.
        """
        if (info.get('GraphDriver') or {}).get('Name') != SNAPSHOTTER:
            return
        container_id = info['Id']
        mount = engine_root_mount(container_id, mountinfo.mounts())
        if mount is None:
            return
        try:
            lower, upper, work = mount_layers(instance, mount)
            path = self._record(instance)
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            with open(path + '.new', 'w') as f:
                json.dump({'container': container_id, 'lowerdirs': lower,
                           'upperdir': upper, 'workdir': work}, f)
            os.replace(path + '.new', path)
        except (nova_exception.InstanceNotRescuable, OSError) as e:
            # The server runs all the same; only its rescue would fail.
            LOG.warning('Where the root file system\'s layers are is not '
                        'recorded, so the server cannot be rescued until '
                        'its next start: %s', e, instance=instance)

    def _recorded_layers(self, instance, container_id):
        try:
            with open(self._record(instance)) as f:
                record = json.load(f)
        except (OSError, ValueError):
            record = {}
        if record.get('container') != container_id:
            raise _not_rescuable(instance, 'the engine keeps the root file '
                                           'system in containerd\'s '
                                           'snapshotter, and this container '
                                           'has not run since it was made')
        return record['lowerdirs'], record['upperdir'], record['workdir']

    def _set_password(self, instance, rescue_id, rescue_password):
        try:
            password.set_in(self._client, rescue_id, instance,
                            rescue_password)
        except nova_exception.SetAdminPasswdNotSupported:
            LOG.warning('The rescue image has no chpasswd: the rescue '
                        'password is not set', instance=instance)
        except (nova_exception.InstancePasswordSetFailed,
                nova_exception.InvalidInput) as e:
            LOG.warning('The rescue password is not set: %s', e,
                        instance=instance)

    def inspect(self, instance):
        """The rescue container's ``docker inspect``; InstanceNotFound
        when there is none of ours.
        """
        info = self._inspect(instance)
        if info is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return info

    def state(self, instance):
        """``(State, Id)`` of the rescue container, or None."""
        info = self._inspect(instance)
        if info is None:
            return None
        return info['State'], info['Id']

    def forget(self, instance):
        """Forget the layers :meth:`remember` recorded (the container is
        gone); idempotent.
        """
        for path in (self._record(instance), self._record(instance) + '.new'):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def stop(self, instance):
        """Remove the rescue container and unmount; idempotent, and no
        Docker call when the instance was never rescued here.
        """
        if not os.path.isdir(self._dir(instance)):
            return
        self._remove_container(instance)
        rescue_fs.unmount(self._root(instance))
        shutil.rmtree(self._dir(instance), ignore_errors=True)

    def _inspect(self, instance):
        wanted = labels_mod.instance_labels(instance, self._host)
        wanted[labels_mod.LABEL_ROLE] = ROLE
        try:
            return containers.inspect_owned(
                self._client, name(instance.uuid), wanted, instance,
                'our rescue container')
        except containers.NotOurs:
            return None

    def _remove_container(self, instance):
        info = self._inspect(instance)
        if info is not None:
            containers.remove_owned(self._client, info, instance)
