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

"""Cold migration to another host: the writable layer travels.

On the source, :meth:`Migrations.send` commits the stopped container as
``nova-migration:<uuid>`` (the snapshot path) and opens a one-shot
:class:`transfer.Endpoint` that serves its ``docker save``. The address,
token and certificate fingerprint go to the destination in ``disk_info``.
On the destination, :meth:`Migrations.receive` streams it through the
image filter into ``docker load`` (the image load path) and tags it
``nova-instance:<uuid>``; the driver then builds the container from it as
spawn does. Nothing is written to Glance or to a file. The committed image
on the source goes as soon as the stream ends or times out, and at confirm
or revert at the latest; the source container stays until confirm.
"""

import json
import threading

from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker.network import hold
from novadocker.virt.docker import transfer

LOG = logging.getLogger(__name__)

# The committed writable layer, on the source, while it is sent.
SEND_REPOSITORY = 'nova-migration'
# The image a migrated container runs from, on the destination.
INSTANCE_REPOSITORY = 'nova-instance'
DISK_INFO_KEY = 'novadocker_stream'


def send_ref(instance_uuid):
    return '%s:%s' % (SEND_REPOSITORY, instance_uuid)


def instance_ref(instance_uuid):
    return '%s:%s' % (INSTANCE_REPOSITORY, instance_uuid)


def same_host(context, instance, migration=None):
    """Whether the instance's move (resize) stays on one host."""
    if migration is None:
        mig_ctx = instance.migration_context
        if mig_ctx is None:
            return True
        migration = objects.Migration.get_by_id(context,
                                                mig_ctx.migration_id)
    return migration.source_compute == migration.dest_compute


def check_movable(instance):
    """Refuse (rolling back) a move to another host that would lose data
    the writable layer does not hold: a flavor ephemeral disk.
    """
    if instance.flavor.ephemeral_gb:
        raise nova_exception.InstanceFaultRollback(
            inner_exception=nova_exception.MigrationPreCheckError(
                reason='the ephemeral disk of a container stays on its '
                       'host; it cannot move to another one'))


def stream_address(disk_info):
    """The endpoint in ``disk_info``; MigrationError when it has none."""
    try:
        return json.loads(disk_info)[DISK_INFO_KEY]
    except (TypeError, ValueError, KeyError) as e:
        raise nova_exception.MigrationError(
            reason='disk_info carries no migration stream') from e


class Migrations(object):
    """The writable layers this host sends and receives."""

    def __init__(self, client, images, bind_host, timeout):
        self._client = client
        self._images = images
        self._bind_host = bind_host
        self._timeout = timeout
        self._endpoints = {}
        self._lock = threading.Lock()

    # Source

    def send(self, instance, info):
        """Commit the (stopped) container ``info`` (its ``docker
        inspect``) and serve it; ``disk_info``. The image keeps the
        container's own entrypoint and command, never the hold program's.
        """
        ref = send_ref(instance.uuid)
        self.close(instance)
        self._client.commit(info['Id'], SEND_REPOSITORY, instance.uuid,
                            hold.commit_changes(info['Config']))
        try:
            endpoint = transfer.Endpoint(
                lambda: self._client.get_image(ref),
                lambda ok: self._sent(instance, ok), self._bind_host,
                self._timeout, name='migration-%s' % instance.uuid[:8])
        except Exception:
            self._remove_image(ref)
            raise
        with self._lock:
            self._endpoints[instance.uuid] = endpoint
        LOG.info('Serving the writable layer on %s:%s for %d s',
                 endpoint.address['host'], endpoint.address['port'],
                 self._timeout, instance=instance)
        return json.dumps({DISK_INFO_KEY: endpoint.address})

    def _sent(self, instance, ok):
        with self._lock:
            self._endpoints.pop(instance.uuid, None)
        self._remove_image(send_ref(instance.uuid))
        LOG.info('Migration stream %s', 'sent' if ok else 'closed unsent',
                 instance=instance)

    def close(self, instance):
        """Stop serving and drop the committed layer; idempotent."""
        with self._lock:
            endpoint = self._endpoints.pop(instance.uuid, None)
        if endpoint is not None:
            endpoint.close()
            endpoint.wait(transfer.IO_TIMEOUT)
        self._remove_image(send_ref(instance.uuid))

    def remove_leftovers(self):
        """Committed layers no endpoint serves (nova-compute restarted
        while one was open).
        """
        with self._lock:
            serving = set(self._endpoints)
        for summary in self._client.images(name=SEND_REPOSITORY):
            for tag in summary.get('RepoTags') or ():
                repository, _sep, uuid = tag.partition(':')
                if repository == SEND_REPOSITORY and uuid not in serving:
                    self._remove_image(tag)

    # Destination

    def receive(self, instance, disk_info):
        """Stream the source's layer into Docker; the image reference."""
        address = stream_address(disk_info)
        LOG.info('Receiving the writable layer from %s:%s',
                 address['host'], address['port'], instance=instance)
        ref = instance_ref(instance.uuid)
        self._images.load_stream('migration of %s' % instance.uuid,
                                 transfer.receive(address), (), None, ref,
                                 instance)
        return ref

    def remove_instance_image(self, instance, image=None):
        """The image a migrated container ran from; idempotent. With
        ``image`` (what a removed container ran from), only if it is it.
        """
        ref = instance_ref(instance.uuid)
        if image is None or image == ref:
            self._remove_image(ref)

    def _remove_image(self, ref):
        try:
            self._client.remove_image(ref)
        except exception.DockerNotFound:
            return
        except exception.DockerConflict:
            LOG.debug('Image %s is in use; kept', ref)
            return
        LOG.debug('Removed image %s', ref)
