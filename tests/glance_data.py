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

"""Image data served as nova's image API serves it, for fakes of it.

``nova.image.glance.API().download(context, image_id, data=f)`` writes the
chunks that glanceclient yields into ``f``; glanceclient checks Glance's
checksum while they pass (``os_hash_value`` when Glance has one, else the
md5 ``checksum``) and raises IOError after the last chunk when it differs.
:func:`write_checked` does the same with glanceclient's own integrity
iterators, so that a fake image API checks data exactly as the real one.
"""

import hashlib

from glanceclient.common import utils as glance_utils


def checked(chunks, meta):
    """``chunks`` as glanceclient's ``images.data()`` yields them for an
    image with Glance metadata ``meta``.
    """
    if meta.get('os_hash_value'):
        return glance_utils.serious_integrity_iter(
            chunks, hashlib.new(meta['os_hash_algo']), meta['os_hash_value'])
    if meta.get('checksum'):
        return glance_utils.integrity_iter(chunks, meta['checksum'])
    return iter(chunks)


def write_checked(data, chunks, meta):
    """Write ``chunks`` to the file object ``data``, checked."""
    for chunk in checked(chunks, meta):
        data.write(chunk)
