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

"""Which local Docker image a Glance image boots, loading it when missing.

A Glance image is known locally by the tag ``nova-image:<glance id>``,
never by a name that may have changed or that another image shares. When
it is missing, its tarball streams from ``[docker] shared_directory`` or
from Glance (:class:`glance.GlanceImages`, nova's image API) through
:class:`filter.ImageFilter` straight into ``docker load``: no temporary
file, memory flat whatever the image's size, content checked against
Glance's checksums once (by glanceclient for Glance's data, by the filter
for a shared directory's file). The filter rewrites the
tarball's ``manifest.json`` and ``index.json`` so that ``docker load``
names the image ``nova-image:<glance id>`` and nothing else: the tarball's
own tags are never applied, and no image ID has to be predicted (the
graph-driver store's IDs are config digests, the containerd store's are
manifest digests).
"""

import os
import re

from nova import exception as nova_exception
from nova.i18n import _
from nova import objects
from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import timeutils

from novadocker.extra_specs import names
from novadocker.virt.docker import exception
from novadocker.virt.docker.image import filter as image_filter
from novadocker.virt.docker.image import pipe
from novadocker.virt.docker.image import registry as image_registry
from novadocker.virt.docker import knobs
from novadocker.virt.docker import streams

LOG = logging.getLogger(__name__)

# Images we load or commit are tagged <REPOSITORY>:<glance image id>, so a
# Glance image is found by its id, never by a name that may have changed.
REPOSITORY = 'nova-image'
CONTAINER_FORMAT = 'docker'
READ_CHUNK = 1024 * 1024
PROGRESS_INTERVAL = 5.0

_COMPONENT = r'[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
_REFERENCE = re.compile(r'^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?%s(?:/%s)*'
                        r'(?::[\w][\w.-]{0,127})?$' % (_COMPONENT,
                                                       _COMPONENT))


def image_ref(image_id):
    return '%s:%s' % (REPOSITORY, image_id)


def _with_tag(name):
    if ':' not in name.rsplit('/', 1)[-1]:
        name += ':latest'
    for prefix in ('docker.io/library/', 'docker.io/'):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def local_names(image_meta):
    """Docker references an image's Glance name may exist under locally.

    Docker wants lower case; names that are no valid reference at all
    ("My image (v2)") have none.
    """
    name = image_meta.obj_attr_is_set('name') and image_meta.name
    if not name:
        return []
    names = [name] if name == name.lower() else [name, name.lower()]
    return [n for n in names if _REFERENCE.match(n)]


def candidates(image_meta, by_name=True):
    """Local references to try for ``image_meta``, best first; its Glance
    name too when ``by_name`` (``[docker] boot_local_images_by_name``).
    """
    refs = [image_ref(image_meta.id)]
    if by_name:
        refs.extend(local_names(image_meta))
    return refs


def check_format(image_meta):
    """Refuse an image that is not ``container_format=docker``."""
    fmt = image_meta.obj_attr_is_set('container_format') and \
        image_meta.container_format
    if fmt != CONTAINER_FORMAT:
        raise nova_exception.ImageUnacceptable(
            image_id=image_meta.id,
            reason=_('container_format is %(fmt)s; the Docker driver boots '
                     'only container_format=%(docker)s images') % {
                'fmt': fmt, 'docker': CONTAINER_FORMAT})


def checksums(meta):
    """``(algorithm, hex digest)`` pairs Glance recorded for an image."""
    sums = []
    if meta.get('checksum'):
        sums.append(('md5', meta['checksum']))
    if meta.get('os_hash_algo') and meta.get('os_hash_value'):
        sums.append((meta['os_hash_algo'], meta['os_hash_value']))
    return sums


def _read_file(path):
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(READ_CHUNK)
            if not chunk:
                return
            yield chunk


class Progress(object):
    """Counts bytes passing by and logs the rate at most every few
    seconds.
    """

    def __init__(self, image_id, total, instance=None,
                 interval=PROGRESS_INTERVAL):
        self._image_id = image_id
        self._total = total
        self._instance = instance
        self._interval = interval
        self.bytes = 0
        self.watch = timeutils.StopWatch()

    def wrap(self, chunks):
        self.watch.start()
        last = 0.0
        for chunk in chunks:
            self.bytes += len(chunk)
            elapsed = self.watch.elapsed()
            if elapsed - last >= self._interval:
                last = elapsed
                self.log('Loading image %s')
            yield chunk

    def log(self, message, level=LOG.info):
        elapsed = max(self.watch.elapsed(), 1e-6)
        level(message + ': %d of %s MiB in %.1f s (%.1f MiB/s)',
              self._image_id, self.bytes >> 20,
              (self._total >> 20) if self._total else '?', elapsed,
              self.bytes / elapsed / 2 ** 20, instance=self._instance)


class ImageStore(object):
    """Local Docker images for Glance images: find, load, cache, save.

    ``glance`` is the driver's :class:`glance.GlanceImages`;
    ``shared_directory`` and ``by_name`` are ``[docker] shared_directory``
    and ``boot_local_images_by_name``; ``registry`` is the
    :class:`registry.Registry` that pulls images naming a registry
    reference (none: such images are refused).
    """

    def __init__(self, client, glance, shared_directory=None, by_name=True,
                 registry=None):
        self._client = client
        self._glance = glance
        self._shared_directory = shared_directory
        self._by_name = by_name
        self._registry = registry or image_registry.Registry(client)

    def _exists(self, ref, named=False):
        try:
            info = self._client.inspect_image(ref)
        except exception.DockerNotFound:
            return False
        # Docker also finds an image by an ID prefix ("d4a9"): a name must
        # be one of the image's tags.
        return not named or _with_tag(ref) in [
            _with_tag(t) for t in info.get('RepoTags') or ()]

    def find(self, image_meta):
        """The local reference for ``image_meta``, or None."""
        for i, ref in enumerate(candidates(image_meta, self._by_name)):
            if self._exists(ref, named=i > 0):
                return ref
        return None

    def ensure(self, context, instance, image_meta):
        """A local reference that boots ``image_meta``, loading the image
        from the shared directory or Glance when it is missing.
        """
        ref, _loaded = self._ensure(context, instance, image_meta)
        LOG.debug('Booting Docker image %s', ref, instance=instance)
        return ref

    def cache(self, context, image_id):
        """Load Glance's ``image_id`` ahead of boots, the way a first boot
        does; True if it was loaded now, False if it was already here.
        """
        image_meta = objects.ImageMeta.from_dict(
            self._glance.get(context, image_id))
        check_format(image_meta)
        ref, loaded = self._ensure(context, None, image_meta)
        LOG.info('Image %s is %s as %s', image_meta.id,
                 'cached' if loaded else 'already cached', ref)
        return loaded

    def _ensure(self, context, instance, image_meta):
        ref = self.find(image_meta)
        if ref is not None:
            return ref, False
        with lockutils.lock('novadocker-image-%s' % image_meta.id):
            ref = self.find(image_meta)
            if ref is not None:
                return ref, False
            return self.load(context, image_meta.id, instance), True

    def properties(self, context, instance):
        """The image's custom properties that knobs.py reads, from the
        instance's system metadata or, when nova cut them, from Glance.
        """
        props, cut = knobs.image_properties(instance.system_metadata)
        if cut and instance.image_ref:
            # Nova kept only 255 characters: ask Glance for the values.
            full = self._glance.get(context, instance.image_ref)
            props = {key: value
                     for key, value in full.get('properties', {}).items()
                     if key in names.IMAGE_PROPERTIES}
        return props

    def save(self, image_id, chunk_size=READ_CHUNK):
        """``docker save`` of the image we hold for Glance's ``image_id``:
        an iterator of the tarball in pieces of exactly ``chunk_size``
        bytes (the last one shorter).

        Docker's stream is read on a thread of its own (:mod:`pipe`, a few
        pieces ahead), started at once: Docker prepares the tarball (it
        takes seconds per GiB before the first byte) while the caller
        prepares its upload, and reading it overlaps with the caller's use
        of the pieces. Its errors are raised in place of the end. Closing
        the iterator stops the thread and Docker's stream.
        """
        ref = image_ref(image_id)

        def read(writer):
            stream = self._client.get_image(ref)
            try:
                for piece in streams.rechunk(stream, chunk_size):
                    writer.write(piece)
            finally:
                stream.close()

        return pipe.Pipe(read, 'image-save-%s' % image_id).start()

    def forget(self, image_id, instance=None, engine_back=None):
        """Remove the image we hold for Glance's ``image_id`` (a failed
        snapshot's); one already gone is fine, others are logged. An
        engine that does not answer is waited for with ``engine_back()``
        (whether it answers again).
        """
        self._remove(image_ref(image_id), instance, engine_back)

    def _remove(self, ref, instance=None, engine_back=None):
        try:
            self._client.remove_image(ref)
        except exception.DockerNotFound:
            pass
        except exception.DockerUnreachable as e:
            if engine_back is not None and engine_back():
                self._remove(ref, instance)
                return
            LOG.warning('Could not remove image %s: %s', ref, e,
                        instance=instance)
        except exception.DockerDriverException as e:
            LOG.warning('Could not remove image %s: %s', ref, e,
                        instance=instance)

    def _shared_file(self, image_id):
        directory = self._shared_directory
        if directory and os.path.basename(image_id) == image_id and \
                image_id not in ('.', '..'):
            path = os.path.join(directory, image_id)
            if os.path.isfile(path):
                return path
        return None

    def _source(self, context, image_id, instance, sums):
        """Where the tarball comes from, its chunks, and the checksums the
        image filter must compute (none for Glance's own data, which
        glanceclient checks).
        """
        path = self._shared_file(image_id)
        if path is not None:
            return path, _read_file(path), sums
        trusted_certs = None
        if instance is not None and instance.obj_attr_is_set(
                'trusted_certs'):
            trusted_certs = instance.trusted_certs
        algo = sums[0][0] if sums else None
        return 'Glance', self._glance.chunks(context, image_id,
                                             trusted_certs, algo), ()

    def load(self, context, image_id, instance=None):
        """Stream the image into Docker as ``nova-image:<image_id>``, or
        pull it from the registry it names; return that reference.
        """
        meta = self._glance.get(context, image_id)
        if image_registry.reference_of(meta):
            return self._registry.pull(image_id, meta, image_ref(image_id),
                                       instance)
        where, chunks, sums = self._source(
            context, image_id, instance,
            image_filter.strongest(checksums(meta)))
        LOG.info('Loading image %s from %s', image_id, where,
                 instance=instance)
        ref = image_ref(image_id)
        self.load_stream(image_id, chunks, sums, meta.get('size') or None,
                         ref, instance)
        return ref

    def load_stream(self, name, chunks, sums, size, ref, instance=None):
        """Stream a ``docker save`` tarball (chunks) through the image
        filter into Docker as ``ref``, checking ``sums`` (``(algorithm,
        hex digest)`` pairs); returns the Docker image id. ``name`` names
        it in messages.
        """
        checker = image_filter.ImageFilter(
            name, sums, size, reference=ref)
        progress = Progress(name, size, instance)
        try:
            self._client.load_image(
                checker.filter(progress.wrap(chunks)))
        finally:
            close = getattr(chunks, 'close', None)
            if close is not None:
                close()
        if checker.plan is None:
            raise exception.DockerServerError(
                what='image load %s' % name,
                reason=_('Docker answered before reading the whole image'))
        try:
            # Re-tagging records the load as Metadata.LastTagTime, the
            # image cache's "last used" (docker load's own tags do not).
            repository, _sep, tag = ref.rpartition(':')
            self._client.tag(ref, repository, tag)
            loaded = self._client.inspect_image(ref)['Id']
        except exception.DockerNotFound as e:
            raise exception.DockerServerError(
                what='image load %s' % name,
                reason=_('Docker reported success but has no image %s')
                % ref) from e
        except Exception:
            # A load that fails leaves no tag: the next build loads the
            # image again rather than trusting a half-finished one.
            with excutils.save_and_reraise_exception():
                self._remove(ref, instance)
        progress.log('Loaded image %s')
        LOG.info('Image %s is Docker image %s', name, loaded,
                 instance=instance)
        return loaded
