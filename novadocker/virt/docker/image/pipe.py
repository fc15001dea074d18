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

"""A download that writes into a file object, read as an iterator.

nova's image API hands image data to a file object:
``download(context, image_id, data=f)`` writes each chunk to ``f`` while
glanceclient checks Glance's checksum and nova checks the signature, and it
returns only when the whole image passed (or raises). This works the same
against real Glance and against nova's ``GlanceFixture``.

:func:`chunks` runs such a download on a thread of its own, writing into a
small bounded queue, and yields the chunks as they come. The checks run on
that thread, beside the parsing and the upload to Docker on the reader's.
The iterator ends only after the download has returned: its error is
raised in place of the end, so the image filter never completes a tarball
whose checks failed.
"""

import queue
import threading

DEPTH = 8                  # batches in flight between the threads
BATCH = 1024 * 1024        # bytes handed over at a time
WAIT = 1.0                 # seconds between checks for a cancelled load
_DONE = object()


class Cancelled(Exception):
    """The reader stopped reading: the download is abandoned."""

    def __init__(self):
        super().__init__('the image load was cancelled')


class _Writer(object):
    """The file object handed to ``download(data=...)``.

    Chunks are handed over in batches of about :data:`BATCH` bytes, so that
    the threads meet a few times per MiB rather than once per chunk.
    """

    def __init__(self, batches, cancelled):
        self._batches = batches
        self._cancelled = cancelled
        self._batch, self._size = [], 0

    def write(self, chunk):
        if not chunk:
            return
        self._batch.append(chunk)
        self._size += len(chunk)
        if self._size >= BATCH:
            self.flush()

    def flush(self):
        if self._batch:
            _put(self._batches, self._batch, self._cancelled)
            self._batch, self._size = [], 0


def chunks(download, name):
    """Yield what ``download(writer)`` writes, from a thread named
    ``name``; raise its error, if any, in place of the end.

    Closing the iterator early makes the next write raise
    :class:`Cancelled` on the download's thread.
    """
    batches = queue.Queue(maxsize=DEPTH)
    cancelled = threading.Event()
    outcome = {}

    def run():
        writer = _Writer(batches, cancelled)
        try:
            download(writer)
            writer.flush()
        except Cancelled:
            return
        except Exception as e:   # handed to the reading thread
            outcome['error'] = e
        try:
            _put(batches, _DONE, cancelled)
        except Cancelled:
            pass

    thread = threading.Thread(target=run, daemon=True, name=name)
    thread.start()
    try:
        while True:
            batch = _get(batches, thread)
            if batch is _DONE:
                break
            yield from batch
    finally:
        cancelled.set()
    if 'error' in outcome:
        raise outcome['error']


def _put(batches, item, cancelled):
    while True:
        if cancelled.is_set():
            raise Cancelled()
        try:
            batches.put(item, timeout=WAIT)
            return
        except queue.Full:
            continue


def _get(batches, thread):
    while True:
        try:
            return batches.get(timeout=WAIT)
        except queue.Empty:
            if not thread.is_alive() and batches.empty():
                return _DONE
