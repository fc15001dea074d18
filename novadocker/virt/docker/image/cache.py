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

"""The image cache: prune images we loaded or committed that are unused.

Only images tagged ``nova-image:<glance id>`` are considered: those the
driver loaded from Glance or committed for a snapshot. Each pass re-tags
the images that instances use, so Docker's ``Metadata.LastTagTime`` (set
on load, commit and re-tag) tells when an image was last known in use, as
the libvirt driver's cache touches its base files. The containerd image
store does not move LastTagTime when the tag already points at the image,
so the cache also remembers when its own passes saw each image in use,
and counts the later of the two. A tag is
removed when no instance of this host uses its Glance image and it was
last used longer ago than nova's ``[image_cache]
remove_unused_original_minimum_age_seconds``. Removing the tag deletes the
image only when nothing else (another tag, a container) holds it: Docker
refuses to delete an image a container uses, and such an image is kept.
"""

from oslo_log import log as logging
from oslo_utils import timeutils

from novadocker.virt.docker import exception
from novadocker.virt.docker.image import store

LOG = logging.getLogger(__name__)

_NEVER = '0001-01-01T00:00:00Z'


def _glance_ids(summary):
    prefix = store.REPOSITORY + ':'
    for tag in summary.get('RepoTags') or ():
        if tag.startswith(prefix):
            yield tag[len(prefix):]


def last_used(info):
    """When an image was last tagged (used), or created."""
    stamp = (info.get('Metadata') or {}).get('LastTagTime')
    if not stamp or stamp.startswith(_NEVER[:10]):
        # Engine API 1.44 and later leave out an unknown creation time.
        stamp = info.get('Created') or _NEVER
    return timeutils.parse_isotime(stamp)


class ImageCache(object):
    """Our images on this host; ``enabled`` and ``min_age`` are nova's
    ``[image_cache] remove_unused_base_images`` and
    ``remove_unused_original_minimum_age_seconds``.
    """

    def __init__(self, client, enabled=True, min_age=86400):
        self._client = client
        self._enabled = enabled
        self._min_age = min_age
        # Glance id -> when a pass last saw the image in use. The
        # containerd image store keeps LastTagTime when a tag is set again
        # on the same image, so there the touch records nothing; this
        # keeps the last use known for as long as nova-compute runs.
        self._seen_in_use = {}

    def cached(self):
        """Glance ids of the images we hold."""
        ids = set()
        for summary in self._client.images(name=store.REPOSITORY):
            ids.update(_glance_ids(summary))
        return ids

    def prune(self, all_instances):
        """Remove our unused images; returns the Glance ids removed."""
        if not self._enabled:
            return []
        in_use = {i.image_ref for i in all_instances if i.image_ref}
        min_age = self._min_age
        cached = self.cached()
        now = timeutils.utcnow(with_timezone=True)
        for image_id in sorted(cached & in_use):
            self._seen_in_use[image_id] = now
            self._touch(image_id)
        removed = []
        for image_id in sorted(cached - in_use):
            if self._remove_if_old(image_id, min_age):
                removed.append(image_id)
        return removed

    def _touch(self, image_id):
        """Re-tag an image in use: Docker records the time
        (``LastTagTime``), which is then its last use.
        """
        try:
            self._client.tag(store.image_ref(image_id), store.REPOSITORY,
                             image_id)
        except exception.DockerNotFound:
            pass

    def _remove_if_old(self, image_id, min_age):
        ref = store.image_ref(image_id)
        try:
            info = self._client.inspect_image(ref)
            used = last_used(info)
            seen = self._seen_in_use.get(image_id)
            if seen is not None and seen > used:
                used = seen
            age = timeutils.delta_seconds(used, timeutils.utcnow(
                with_timezone=True))
            if age < min_age:
                LOG.debug('Image %s unused for %d s; kept', image_id, age)
                return False
            self._client.remove_image(ref)
        except exception.DockerNotFound:
            return False
        except exception.DockerConflict:
            LOG.debug('Image %s is used by a container; kept', image_id)
            return False
        self._seen_in_use.pop(image_id, None)
        LOG.info('Removed unused image %s (%s)', image_id, info['Id'])
        return True
