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

"""A Glance fixture that stores and streams image data as Glance does.

nova's ``GlanceFixture`` keeps image metadata only: ``download()`` without
``data`` or ``dst_path`` returns None where real Glance returns an iterator
of chunks, and ``update(..., data=...)`` drops the data.  The Docker driver
streams images both ways, so :class:`StreamingGlanceFixture` fills those
gaps:

* ``create()`` and ``update()`` read ``data`` with ``data.read(CHUNK)`` until
  it returns ``b''``, as glanceclient does with an upload body, and store the
  bytes; the image becomes ``active`` with its ``size`` and ``checksum``
  (md5, as Glance's ``checksum`` field) set.
* An image that Nova creates (``create()`` with a request context, no
  ``data`` and no ``status``, as the API does for a snapshot) starts
  ``queued``, as in Glance, until its data is uploaded.  Images that tests
  create with ``context=None`` start ``active``, as in nova's fixture.
* ``download(context, image_id)`` returns an iterator of chunks of at most
  ``CHUNK`` bytes; with ``data=`` it writes the chunks to that file object,
  with ``dst_path=`` to that file, and then returns None. The chunks are
  checked against the image's ``checksum`` by glanceclient's own integrity
  iterator, as nova's download checks them (IOError after the last chunk
  when they differ).

Use it through ``tests.functional.base.DockerFunctionalTestCase`` (its
``GLANCE_FIXTURE`` attribute), or on its own::

    self.glance = self.useFixture(StreamingGlanceFixture(self))
    image = self.glance.create(None, {'name': 'x', 'container_format':
                                      'docker', 'disk_format': 'raw'},
                               data=io.BytesIO(tarball))
    b''.join(self.glance.download(None, image['id']))

``image_data(image_id)`` returns the stored bytes for assertions, and
``reads`` counts the ``read()`` calls made on upload bodies.
"""

import hashlib

from nova import exception
from nova.tests.fixtures import glance as glance_fixtures

from tests import glance_data

# glanceclient's chunk size for uploads and downloads.
CHUNK = 1024 * 1024


def _read_all(data):
    """Read an upload body chunk by chunk, as glanceclient does."""
    parts = []
    reads = 0
    while True:
        chunk = data.read(CHUNK)
        reads += 1
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise TypeError('image data must be bytes, got %s'
                            % type(chunk).__name__)
        parts.append(chunk)
    return b''.join(parts), reads


class StreamingGlanceFixture(glance_fixtures.GlanceFixture):
    """GlanceFixture that stores uploaded data and streams downloads."""

    def setUp(self):
        super().setUp()
        self.reads = 0

    def image_data(self, image_id):
        """The bytes stored for ``image_id`` (b'' when it has none)."""
        return self._imagedata.get(image_id, b'')

    def _store(self, image_id, data):
        body, reads = _read_all(data)
        self.reads += reads
        self._imagedata[image_id] = body
        image = self.images[image_id]
        image['size'] = len(body)
        image['checksum'] = hashlib.md5(body,
                                        usedforsecurity=False).hexdigest()
        image['status'] = 'active'

    def create(self, context, metadata, data=None):
        queued = (context is not None and data is None and
                  'status' not in metadata)
        image = super().create(context, metadata)
        if queued:
            image['status'] = 'queued'
        if data is not None:
            self._store(image['id'], data)
        return self.images[image['id']]

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        image = super().update(context, image_id, metadata,
                               purge_props=purge_props)
        if data is not None:
            self._store(image_id, data)
        return image

    def _chunks(self, image_id):
        body = self.image_data(image_id)
        chunks = (body[start:start + CHUNK]
                  for start in range(0, len(body), CHUNK))
        return glance_data.checked(chunks, self.images[image_id])

    def download(self, context, image_id, data=None, dst_path=None,
                 trusted_certs=None):
        self.show(context, image_id)
        if image_id not in self._imagedata:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='Image has no associated data')
        if data is None and dst_path is None:
            return self._chunks(image_id)
        if data is not None:
            for chunk in self._chunks(image_id):
                data.write(chunk)
            return None
        with open(dst_path, 'wb') as f:
            for chunk in self._chunks(image_id):
                f.write(chunk)
        return None
