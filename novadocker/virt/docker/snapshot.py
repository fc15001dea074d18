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

"""Snapshots: ``docker commit``, then ``docker save`` streamed into Glance."""

from glanceclient.common import http as glance_http
from nova.compute import task_states
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.virt.docker.image import store
from novadocker.virt.docker import streams

LOG = logging.getLogger(__name__)

# glanceclient reads an upload body this many bytes at a time: the saved
# tarball comes in pieces of exactly that size, each handed on as it is.
UPLOAD_CHUNK = glance_http.CHUNKSIZE


def image_metadata(snapshot):
    """What the driver sets on the image that the API pre-created."""
    return {
        'name': snapshot['name'],
        'container_format': 'docker',
        'disk_format': 'raw',
    }


def take(context, instance, image_id, update_task_state, containers,
         images, glance, engine_back=None):
    """Commit the instance's container and upload it as ``image_id``
    (``images`` the image store, ``glance`` its Glance facade). When the
    upload fails because the engine died, ``engine_back()`` waits for it
    before the committed image is removed.
    """
    snapshot = glance.get(context, image_id)
    update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
    containers.commit(instance, store.REPOSITORY, image_id)
    try:
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        body = streams.IterReader(images.save(image_id, UPLOAD_CHUNK))
        try:
            glance.upload(context, image_id, image_metadata(snapshot), body)
        finally:
            body.close()
    except Exception:
        # Nova deletes the Glance image; the committed one is ours.
        with excutils.save_and_reraise_exception():
            images.forget(image_id, instance, engine_back)
    LOG.info('Uploaded snapshot %s (%d bytes)', image_id, body.bytes_read,
             instance=instance)
