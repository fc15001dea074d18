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
overlay2 keeps them) is mounted at ``<instances_path>/<uuid>/rescue/root``
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

import os
import shutil

from nova import exception as nova_exception
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.privsep import rescue_fs
from novadocker.virt.docker import containers
from novadocker.virt.docker import labels as labels_mod
from novadocker.virt.docker import password

LOG = logging.getLogger(__name__)

RESCUE_PATH = '/rescue'
ROLE = 'rescue'
STATE_DIR = 'rescue'
OVERLAY = 'overlay2'


def name(instance_uuid):
    return 'nova-%s-rescue' % instance_uuid


def layers(instance, info):
    """``(lowerdirs, upperdir, workdir)`` of a container's root file
    system; InstanceNotRescuable when Docker does not keep it in
    overlay2.
    """
    graph = info.get('GraphDriver') or {}
    data = graph.get('Data') or {}
    if graph.get('Name') != OVERLAY or not data.get('UpperDir'):
        raise nova_exception.InstanceNotRescuable(
            instance_id=instance.uuid,
            reason='rescue needs Docker\'s overlay2 storage driver '
                   '(this engine uses %s)' % graph.get('Name'))
    return (data['LowerDir'].split(':'), data['UpperDir'], data['WorkDir'])


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
        lower, upper, work = layers(instance, info)
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
