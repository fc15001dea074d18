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

"""Our containers: each Nova instance is the container ``nova-<uuid>``.

Every operation first makes sure the container carries our labels, so a
container that Nova did not create here is never touched.
"""

import contextlib

from nova import exception as nova_exception
from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker import labels
from novadocker.virt.docker.network import hold
from novadocker.virt.docker import translator

LOG = logging.getLogger(__name__)

# Seconds to wait for a killed container to be reaped.
KILL_WAIT = 60


class NotOurs(Exception):
    """A container with the name we want exists, without our labels."""


def inspect_owned(client, name, wanted, instance, what):
    """``docker inspect`` of the container ``name``, or None when there is
    none. One that lacks any of the ``wanted`` labels is not ``what`` we
    made: it is logged, never touched, and raises :class:`NotOurs`.
    """
    try:
        info = client.inspect_container(name)
    except exception.DockerNotFound:
        return None
    found = info['Config'].get('Labels') or {}
    if any(found.get(k) != v for k, v in wanted.items()):
        LOG.warning('Container %s exists but is not %s; leaving it alone',
                    name, what, instance=instance)
        raise NotOurs(name)
    return info


def remove_owned(client, info, instance):
    """Remove the container ``info`` (from :func:`inspect_owned`) shows;
    False when it was gone already.
    """
    try:
        client.remove_container(info['Id'])
    except exception.DockerNotFound:
        return False
    LOG.debug('Removed container %s', info['Id'], instance=instance)
    return True


class Containers(object):
    def __init__(self, client, host):
        self._client = client
        self._host = host
        self._watchers = []

    def watch(self, changed):
        """Call ``changed(instance_uuid)`` after each change this host makes
        to a container's state (so that a cache of states can look again).
        """
        self._watchers.append(changed)

    @contextlib.contextmanager
    def _changing(self, instance_uuid):
        try:
            yield
        finally:
            for changed in self._watchers:
                changed(instance_uuid)

    def list(self, **filters):
        """Summaries of all our instances' containers on this host that
        match Docker's list ``filters``, one Docker call; helper containers
        (network sandboxes) left out.
        """
        return [c for c in
                self._client.containers(labels.owner_labels(self._host),
                                        **filters)
                if labels.LABEL_ROLE not in (c.get('Labels') or {})]

    def inspect(self, instance):
        """``docker inspect`` of the instance's container.

        Raises InstanceNotFound when it is missing or not ours.
        """
        wanted = labels.owner_labels(self._host)
        wanted[labels.LABEL_UUID] = instance.uuid
        try:
            info = inspect_owned(
                self._client, translator.container_name(instance.uuid),
                wanted, instance, 'created by this compute host')
        except NotOurs:
            info = None
        if info is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return info

    def create(self, args):
        """``docker create`` with ``translator.container_args``."""
        owner = (args.get('labels') or {}).get(labels.LABEL_UUID)
        with self._changing(owner):
            return self._client.create_container(**args)['Id']

    def remove(self, instance):
        """Remove the container; True if there was one to remove."""
        return self.remove_with_image(instance) is not None

    def remove_with_image(self, instance):
        """Remove the container; the image it ran from (``Config.Image``),
        or None when there was none to remove.
        """
        try:
            info = self.inspect(instance)
        except nova_exception.InstanceNotFound:
            return None
        with self._changing(instance.uuid):
            if not remove_owned(self._client, info, instance):
                return None
        return info['Config'].get('Image') or ''

    def start(self, instance):
        """Start (or unpause) the container; when it was started (its
        entrypoint is held until its network is wired: network/hold.py)
        its ``docker inspect`` from before the start, else None.
        """
        info = self.inspect(instance)
        with self._changing(instance.uuid):
            if info['State'].get('Paused'):
                self._client.unpause(info['Id'])
            elif not info['State'].get('Running'):
                self._client.start(info['Id'])
                return info
        return None

    def stop(self, instance, timeout):
        """Stop: SIGTERM, then SIGKILL after ``timeout`` (0: at once)."""
        info = self.inspect(instance)
        if not info['State'].get('Running'):
            return
        with self._changing(instance.uuid):
            if info['State'].get('Paused'):
                self._client.unpause(info['Id'])
            if timeout:
                self._client.stop(info['Id'], timeout=timeout)
            else:
                self._client.kill(info['Id'])
                self._client.wait(info['Id'], timeout=KILL_WAIT)

    def signal(self, instance, signal):
        """Send ``signal`` to the main process of the running container."""
        info = self.inspect(instance)
        if not info['State'].get('Running'):
            raise nova_exception.InstanceNotRunning(instance_id=instance.uuid)
        self._client.kill(info['Id'], signal=signal)
        LOG.info('Sent %s to the container\'s main process', signal,
                 instance=instance)

    def pause(self, instance):
        container_id = self.inspect(instance)['Id']
        with self._changing(instance.uuid):
            self._client.pause(container_id)

    def unpause(self, instance):
        """Unpause; a container that is not paused is left as it is."""
        info = self.inspect(instance)
        if info['State'].get('Paused'):
            with self._changing(instance.uuid):
                self._client.unpause(info['Id'])

    def logs(self, instance, max_bytes):
        """The newest ``max_bytes`` of the container's stdout and stderr."""
        # A line holds at least one byte, so this many lines always cover
        # max_bytes.
        return self._client.logs(self.inspect(instance)['Id'],
                                 tail=max_bytes, max_bytes=max_bytes)

    def update_resources(self, instance, resources):
        """``docker update`` of the container's limits (Engine API field
        names).
        """
        self._client.update_resources(self.inspect(instance)['Id'],
                                      resources)

    def commit(self, instance, repository, tag):
        """``docker commit``: the image keeps the entrypoint and command
        the container was made with, never the hold program's.
        """
        info = self.inspect(instance)
        return self._client.commit(info['Id'], repository, tag,
                                   hold.commit_changes(info['Config']))
