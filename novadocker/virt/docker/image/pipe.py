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

A snapshot uses it the other way round: ``docker save`` is read on the
thread (``ImageStore.save``) while the upload to Glance sends what was
read, so that neither waits for the other.
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

    The thread starts at the first ``next()``. Closing the iterator early
    makes the next write raise :class:`Cancelled` on the download's thread.
    """
    return Pipe(download, name).items()


class Pipe(object):
    """:func:`chunks` as an object whose thread can start ahead of the
    first read (:meth:`start`), so that the download's first bytes are on
    their way while the reader prepares; iterate and ``close()`` it like
    the generator :func:`chunks` returns.
    """

    def __init__(self, download, name):
        self._batches = queue.Queue(maxsize=DEPTH)
        self._cancelled = threading.Event()
        self._outcome = {}
        self._thread = threading.Thread(target=self._run, args=(download,),
                                        daemon=True, name=name)
        self._items = None

    def start(self):
        if self._thread.ident is None:
            self._thread.start()
        return self

    def items(self):
        self.start()
        try:
            while True:
                batch = _get(self._batches, self._thread)
                if batch is _DONE:
                    break
                yield from batch
        finally:
            self._cancelled.set()
        if 'error' in self._outcome:
            raise self._outcome['error']

    def __iter__(self):
        return self

    def __next__(self):
        if self._items is None:
            self._items = self.items()
        return next(self._items)

    def close(self):
        if self._items is not None:
            self._items.close()
        self._cancelled.set()

    def _run(self, download):
        writer = _Writer(self._batches, self._cancelled)
        try:
            download(writer)
            writer.flush()
        except Cancelled:
            return
        except Exception as e:   # handed to the reading thread
            self._outcome['error'] = e
        try:
            _put(self._batches, _DONE, self._cancelled)
        except Cancelled:
            pass


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
