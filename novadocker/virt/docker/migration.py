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
``nova-migration:<uuid>`` (the snapshot path) and opens a
:class:`transfer.Endpoint` that serves its ``docker save``. The address,
token and certificate fingerprint go to the destination in ``disk_info``.
On the destination, :meth:`Migrations.receive` streams it through the
image filter into ``docker load`` (the image load path) and tags it
``nova-instance:<uuid>``; the driver then builds the container from it as
spawn does, and tells the source (:meth:`Migrations.built`). Nothing is
written to Glance or to a file.

A destination that fails keeps ``disk_info`` (:meth:`Migrations.pending`)
and what it loaded; Nova's hard reboot there builds the server again
(fetching the layer once more when it has none) and tells the source,
which then removes its copy (:meth:`Migrations.release`); so does the
server's deletion there. Until the destination's word, the source keeps
its stopped container, the committed layer and the endpoint; confirm and
revert close them too.
"""

import json
import os
import threading

from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker import instancefiles
from novadocker.virt.docker.network import hold
from novadocker.virt.docker import transfer

LOG = logging.getLogger(__name__)

# The committed writable layer, on the source, while it is sent.
SEND_REPOSITORY = 'nova-migration'
# The image a migrated container runs from, on the destination.
INSTANCE_REPOSITORY = 'nova-instance'
DISK_INFO_KEY = 'novadocker_stream'
# What the source's rendered files carry over (mounts.RenderedFiles).
FILES_KEY = 'novadocker_files'
# Seconds the destination tries to reach the source to tell it.
NOTIFY_TIMEOUT = 10
# The destination's record of a migration it has not finished.
PENDING_DIR = 'migration'
PENDING_FILE = 'disk_info.json'


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


def carried_files(disk_info):
    """What the source's files carried over, or None."""
    return json.loads(disk_info).get(FILES_KEY)


def stream_address(disk_info):
    """The endpoint in ``disk_info``; MigrationError when it has none."""
    try:
        return json.loads(disk_info)[DISK_INFO_KEY]
    except (TypeError, ValueError, KeyError) as e:
        raise nova_exception.MigrationError(
            reason='disk_info carries no migration stream') from e


class Migrations(object):
    """The writable layers this host sends and receives.

    ``release(instance)`` is called (from the endpoint's thread) when the
    destination of a migration from here says no confirm or revert will
    come (:meth:`release`): this host's copy is to go.
    """

    def __init__(self, client, images, bind_host, timeout, instances_path,
                 release):
        self._client = client
        self._images = images
        self._bind_host = bind_host
        self._timeout = timeout
        self._files = instancefiles.InstanceFiles(instances_path)
        self._release = release
        self._endpoints = {}
        self._lock = threading.Lock()

    # Source

    def send(self, instance, info, files=None):
        """Commit the (stopped) container ``info`` (its ``docker
        inspect``) and serve it; ``disk_info``, with ``files`` (what the
        rendered files carry over). The image keeps the container's own
        entrypoint and command, never the hold program's.
        """
        ref = send_ref(instance.uuid)
        self.close(instance)
        self._client.commit(info['Id'], SEND_REPOSITORY, instance.uuid,
                            hold.commit_changes(info['Config']))
        try:
            endpoint = transfer.Endpoint(
                lambda: self._client.get_image(ref),
                lambda outcome: self._ended(instance, outcome),
                self._bind_host, self._timeout,
                name='migration-%s' % instance.uuid[:8])
        except Exception:
            self._remove_image(ref)
            raise
        with self._lock:
            self._endpoints[instance.uuid] = endpoint
        LOG.info('Serving the writable layer on %s:%s',
                 endpoint.address['host'], endpoint.address['port'],
                 instance=instance)
        return json.dumps({DISK_INFO_KEY: endpoint.address,
                           FILES_KEY: files})

    def _ended(self, instance, outcome):
        with self._lock:
            self._endpoints.pop(instance.uuid, None)
        self._remove_image(send_ref(instance.uuid))
        LOG.info('Migration endpoint closed (%s)',
                 outcome or 'no word from the destination',
                 instance=instance)
        if outcome == transfer.RELEASE:
            try:
                self._release(instance)
            except Exception:   # the endpoint's thread; logged, not lost
                LOG.exception('Could not remove the copy left here',
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

    def remember(self, instance, disk_info):
        """Keep ``disk_info`` until :meth:`forget` (a hard reboot after a
        failed finish fetches the layer with it).
        """
        stream_address(disk_info)
        directory = self._files.create(instance.uuid, PENDING_DIR, 0o700)
        instancefiles.write_file(os.path.join(directory, PENDING_FILE),
                                 disk_info.encode(), 0o600)

    def pending(self, instance):
        """The ``disk_info`` of a migration here that did not finish, or
        None.
        """
        try:
            with open(self._pending_path(instance)) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def forget(self, instance):
        self._files.remove(instance.uuid, PENDING_DIR)

    def _pending_path(self, instance):
        return os.path.join(self._files.path(instance.uuid, PENDING_DIR),
                            PENDING_FILE)

    def has_layer(self, instance):
        """Whether the layer of a migration here is loaded already."""
        return bool(self._client.images(name=instance_ref(instance.uuid)))

    def receive(self, instance, disk_info):
        """Stream the source's layer into Docker; the image reference.
        A failed load leaves no image.
        """
        address = stream_address(disk_info)
        LOG.info('Receiving the writable layer from %s:%s',
                 address['host'], address['port'], instance=instance)
        ref = instance_ref(instance.uuid)
        try:
            self._images.load_stream('migration of %s' % instance.uuid,
                                     transfer.receive(address), (), None,
                                     ref, instance)
        except Exception:
            self.remove_instance_image(instance)
            raise
        return ref

    def built(self, instance, disk_info):
        """Tell the source the server is built here (it keeps its copy
        until confirm or revert) and forget ``disk_info``.
        """
        self._tell(instance, disk_info, transfer.BUILT)

    def release(self, instance, disk_info):
        """Tell the source that no confirm or revert will come (the server
        was built here after a failed finish, or deleted here): it removes
        its copy. Forget ``disk_info``.
        """
        self._tell(instance, disk_info, transfer.RELEASE)

    def _tell(self, instance, disk_info, verb):
        # A source that does not hear it closes its endpoint at confirm,
        # revert or the server's deletion anyway.
        try:
            transfer.notify(stream_address(disk_info), verb,
                            connect_timeout=NOTIFY_TIMEOUT)
        except (nova_exception.MigrationError, transfer.TransferError) as e:
            LOG.warning('The source of the migration did not hear that '
                        'the server is built here: %s', e,
                        instance=instance)
        self.forget(instance)

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
