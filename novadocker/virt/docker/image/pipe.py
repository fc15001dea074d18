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

"""Streaming Glance downloads that nova verifies (image signatures).

With signature verification on, ``glance.API().download()`` without
``data=`` reads the whole image to verify it and hands back a spent
iterator. With ``data=`` it writes each chunk as it verifies, and raises at
the end if the signature is wrong. :func:`verified_chunks` runs that
download on a thread, writing into a small bounded queue, and yields the
chunks as they come; the download's outcome (signature good or not) is
known before the last chunk is yielded, so the image filter never
completes a tarball whose signature failed.
"""

import queue
import threading

from cryptography import exceptions as crypto_exceptions
from cursive import exception as cursive_exception
import nova.conf
from nova import exception
from nova.i18n import _

CONF = nova.conf.CONF

DEPTH = 8           # chunks in flight between the threads
WAIT = 1.0          # seconds between checks for a cancelled load
_DONE = object()


def needs_data_argument(trusted_certs=None):
    """Whether nova will verify a signature (and spend its iterator)."""
    return bool(trusted_certs or CONF.glance.verify_glance_signatures or (
        CONF.glance.enable_certificate_validation and
        CONF.glance.default_trusted_certificate_ids))


class _Cancelled(Exception):
    pass


class _Writer(object):
    """The file object handed to ``download(data=...)``."""

    def __init__(self, chunks, cancelled):
        self._chunks = chunks
        self._cancelled = cancelled

    def write(self, chunk):
        while True:
            if self._cancelled.is_set():
                raise _Cancelled()
            try:
                self._chunks.put(chunk, timeout=WAIT)
                return
            except queue.Full:
                continue


def verified_chunks(image_api, context, image_id, trusted_certs=None):
    """Yield the image's chunks while nova downloads and verifies it."""
    chunks = queue.Queue(maxsize=DEPTH)
    cancelled = threading.Event()
    outcome = {}

    def download():
        try:
            image_api.download(context, image_id,
                               data=_Writer(chunks, cancelled),
                               trusted_certs=trusted_certs)
        except _Cancelled:
            return
        except Exception as e:   # handed to the consuming thread
            outcome['error'] = e
        _put_done(chunks, cancelled)

    thread = threading.Thread(target=download, daemon=True,
                              name='image-download-%s' % image_id)
    thread.start()
    try:
        while True:
            chunk = _get(chunks, thread)
            if chunk is _DONE:
                break
            yield chunk
    finally:
        cancelled.set()
    error = outcome.get('error')
    if isinstance(error, (crypto_exceptions.InvalidSignature,
                          cursive_exception.SignatureVerificationError)):
        raise exception.ImageUnacceptable(
            image_id=image_id,
            reason=_('signature verification failed: %s') % error) from error
    if error is not None:
        raise error


def _put_done(chunks, cancelled):
    while not cancelled.is_set():
        try:
            chunks.put(_DONE, timeout=WAIT)
            return
        except queue.Full:
            continue


def _get(chunks, thread):
    while True:
        try:
            return chunks.get(timeout=WAIT)
        except queue.Empty:
            if not thread.is_alive() and chunks.empty():
                return _DONE
