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

from nova import exception as nova_exception
from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker import labels
from novadocker.virt.docker import translator

LOG = logging.getLogger(__name__)

# Seconds to wait for a killed container to be reaped.
KILL_WAIT = 60


class Containers(object):
    def __init__(self, client, host):
        self._client = client
        self._host = host

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
        name = translator.container_name(instance.uuid)
        try:
            info = self._client.inspect_container(name)
        except exception.DockerNotFound:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        found = info['Config'].get('Labels') or {}
        expected = labels.owner_labels(self._host)
        expected[labels.LABEL_UUID] = instance.uuid
        if any(found.get(k) != v for k, v in expected.items()):
            LOG.warning('Container %s exists but was not created by this '
                        'compute host; leaving it alone', name,
                        instance=instance)
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return info

    def state(self, instance):
        return self.inspect(instance)['State']

    def create(self, instance, args):
        return self._client.create_container(**args)['Id']

    def remove(self, instance):
        """Remove the container; True if there was one to remove."""
        try:
            container_id = self.inspect(instance)['Id']
        except nova_exception.InstanceNotFound:
            return False
        try:
            self._client.remove_container(container_id)
        except exception.DockerNotFound:
            return False
        LOG.debug('Removed container %s', container_id, instance=instance)
        return True

    def start(self, instance):
        info = self.inspect(instance)
        if info['State'].get('Paused'):
            self._client.unpause(info['Id'])
        elif not info['State'].get('Running'):
            self._client.start(info['Id'])

    def stop(self, instance, timeout):
        """Stop: SIGTERM, then SIGKILL after ``timeout`` (0: at once)."""
        info = self.inspect(instance)
        if not info['State'].get('Running'):
            return
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
        self._client.pause(self.inspect(instance)['Id'])

    def unpause(self, instance):
        self._client.unpause(self.inspect(instance)['Id'])

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
        return self._client.commit(self.inspect(instance)['Id'], repository,
                                   tag)
