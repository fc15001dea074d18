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

"""The driver's one way to Glance: nova's image API.

:class:`GlanceImages` wraps a ``nova.image.glance.API`` (injected: the
driver builds one; tests hand in nova's ``GlanceFixture``) for everything
the driver reads from or writes to Glance: image metadata, image data
for ``docker load``, and snapshot uploads.

Image data comes from ``API.download(context, image_id, data=...)``: the
same endpoints, credentials, retries and signature verification as every
other nova driver. glanceclient's verifying iterator hashes every byte
against Glance's checksum (``os_hash_value``, else the md5 ``checksum``)
and raises IOError at the end when they differ; that single pass is the
only checksum of Glance data (the image filter checks only what comes
from ``[docker] shared_directory``). :mod:`pipe` runs the download on a
thread of its own and ends the chunks only once the download has returned,
so the end of the tarball never reaches Docker before the checks passed.
A failed check is ImageUnacceptable (the build is not rescheduled: the
image is as bad on any host).
"""

import errno

from cryptography import exceptions as crypto_exceptions
from cursive import exception as cursive_exception
from nova import exception
from nova.i18n import _

from novadocker.virt.docker.image import pipe

_SIGNATURE_ERRORS = (crypto_exceptions.InvalidSignature,
                     cursive_exception.SignatureVerificationError)


def _corrupt(error):
    """Whether ``error`` is glanceclient's checksum failure: its integrity
    iterators raise ``IOError(errno.EPIPE, ...)``, which Python makes a
    BrokenPipeError (the transport's errors are other OSError subclasses;
    nothing here writes to a socket).
    """
    return type(error) is BrokenPipeError and error.errno == errno.EPIPE


class GlanceImages(object):
    """Image metadata, data and uploads through nova's image API."""

    def __init__(self, api):
        self._api = api

    def get(self, context, image_id):
        return self._api.get(context, image_id)

    def chunks(self, context, image_id, trusted_certs=None, algo=None):
        """The image's data as an iterator of chunks, checked by
        glanceclient (checksum, ``algo`` names it in errors) and nova
        (signature, with ``trusted_certs`` or nova's defaults).

        A failed check raises ImageUnacceptable in place of the end.
        """
        def download(writer):
            self._api.download(context, image_id, data=writer,
                               trusted_certs=trusted_certs)

        try:
            yield from pipe.chunks(download, 'image-download-%s' % image_id)
        except _SIGNATURE_ERRORS as e:
            raise exception.ImageUnacceptable(
                image_id=image_id,
                reason=_('signature verification failed: %s') % e) from e
        except OSError as e:
            if not _corrupt(e):
                raise
            raise exception.ImageUnacceptable(
                image_id=image_id,
                reason=_('%(algo)s checksum mismatch: %(error)s') % {
                    'algo': algo or _('Glance'), 'error': e}) from e

    def upload(self, context, image_id, metadata, body):
        """Upload ``body`` (a file object) as the data of the image that
        the API pre-created, setting ``metadata``.
        """
        return self._api.update(context, image_id, metadata, body,
                                purge_props=False)
