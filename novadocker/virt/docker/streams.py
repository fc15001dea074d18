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

"""File-like adapters for streaming image data without temp files."""


def rechunk(chunks, size):
    """The bytes of ``chunks`` in pieces of exactly ``size`` bytes (the
    last one shorter).

    Each piece costs one copy (a join of views into the chunks), none when
    a chunk already is one whole piece; only the bytes of one piece are
    held.
    """
    views, held = [], 0
    for chunk in chunks:
        view = memoryview(chunk)
        while len(view):
            take = min(size - held, len(view))
            views.append(view[:take])
            held += take
            view = view[take:]
            if held == size:
                yield _joined(views)
                views, held = [], 0
    if views:
        yield _joined(views)


def _joined(views):
    if len(views) == 1 and len(views[0]) == len(views[0].obj):
        return views[0].obj
    return b''.join(views)


class IterReader(object):
    """``read(n)`` over an iterator of byte chunks.

    glanceclient uploads by calling ``body.read(size)``; this hands it the
    chunks of ``docker save`` as they come, holding at most one chunk. A
    read of exactly one whole chunk returns that chunk itself (no copy).
    """

    def __init__(self, chunks):
        self._source = chunks
        self._chunks = iter(chunks)
        self._chunk = b''
        self._pos = 0
        self.bytes_read = 0

    def close(self):
        """Stop the source (an iterator with ``close()``, such as a
        generator) early; reading after it returns b''.
        """
        close = getattr(self._source, 'close', None)
        if close is not None:
            close()
        self._chunks = iter(())
        self._chunk, self._pos = b'', 0

    def _fill(self):
        while self._pos >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._chunk, self._pos = chunk, 0
        return True

    def read(self, size=-1):
        parts = []
        wanted = size
        while (wanted < 0 or wanted > 0) and self._fill():
            end = len(self._chunk) if wanted < 0 else self._pos + wanted
            part = self._chunk[self._pos:end]
            self._pos += len(part)
            parts.append(part)
            if wanted > 0:
                wanted -= len(part)
        data = b''.join(parts)
        self.bytes_read += len(data)
        return data
