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

"""Image data from Glance, its checksum checked once.

nova's ``glance.API().download()`` asks glanceclient to check Glance's
checksum while the data streams, and :class:`filter.ImageFilter`
checks it again on the way into Docker. Hashing every byte (sha512 by
default) is the costliest part of loading an image: one core does a few
hundred MiB/s. :class:`GlanceImages` downloads through nova's own
glanceclient wrapper (the same endpoints, credentials and retries) with
glanceclient's check turned off, so the filter's check is the only one. It
runs beside the parsing on a thread of its own and refuses a mismatch as
ImageUnacceptable, where glanceclient's IOError would reschedule the build.

Downloads nova must verify (image signatures) still go through
``glance.API().download()``; see :mod:`pipe`.
"""

import glanceclient.exc
from nova import exception
from nova.i18n import _
from nova.image import glance

API_VERSION = 2
_TRANSLATED = (
    ((glanceclient.exc.HTTPForbidden, glanceclient.exc.HTTPUnauthorized),
     exception.ImageNotAuthorized),
    ((glanceclient.exc.HTTPNotFound,), exception.ImageNotFound),
)


def _translated(image_id, error):
    for kinds, ours in _TRANSLATED:
        if isinstance(error, kinds):
            return ours(image_id=image_id)
    return None


class GlanceImages(object):
    """What :class:`images.ImageStore` reads from Glance: ``get`` and
    ``download``.
    """

    def __init__(self):
        self._api = glance.API()
        self._client = glance.GlanceClientWrapper()

    def get(self, context, image_id):
        return self._api.get(context, image_id)

    def download(self, context, image_id, data=None, trusted_certs=None):
        """An iterator of the image's chunks, unchecked (the image filter
        checks them). With ``data`` or ``trusted_certs`` it is nova's own
        download, signature check and all.
        """
        if data is not None or trusted_certs:
            return self._api.download(context, image_id, data=data,
                                      trusted_certs=trusted_certs)
        try:
            body = self._client.call(context, API_VERSION, 'data',
                                     args=(image_id,),
                                     kwargs={'do_checksum': False})
        except glanceclient.exc.HTTPException as e:
            ours = _translated(image_id, e)
            if ours is None:
                raise
            raise ours from e
        if getattr(body, 'wrapped', body) is None:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason=_('Glance has no data for it'))
        return body
