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

"""Check and rewrite an image tarball while it streams into ``docker load``.

:class:`ImageFilter` sits between the image's source (Glance's chunk
iterator or a file) and Docker. It passes the bytes on as they come and
keeps only small things in memory: one tar header, the small JSON members,
the first block of each member. On the way it

- computes the checksum Glance recorded (``os_hash_value`` when there is
  one, else the md5 ``checksum``: see :func:`strongest`) on a thread of its
  own, in parallel with the rest,
- parses every tar header and refuses paths that leave the archive,
- scans every layer tarball nested in it the same way,
- drops ``manifest.json``, ``index.json`` and ``repositories`` from their
  place, so that loading never applies the tarball's own tags to anything.

Only when the input has ended and every check passed does it append the
``manifest.json`` and ``index.json`` to load (rewritten to name the image
by the reference given and nothing else; see :mod:`layout`) and the
end-of-archive marker. Until then Docker holds an incomplete tarball, which
it does not load: on any failure the generator raises ImageUnacceptable
instead, the upload is cut short, and nothing reaches Docker's image store.
"""

import hashlib
import queue
import threading

from nova import exception
from nova.i18n import _

from novadocker.virt.docker.image import layout
from novadocker.virt.docker.image import tar

# Members we keep in memory: JSON documents (manifests, configs, indexes).
JSON_MEMBER_LIMIT = 8 * 1024 * 1024
JSON_TOTAL_LIMIT = 32 * 1024 * 1024
_JSON_START = (b'{', b'[', b' ', b'\n', b'\r', b'\t')
# Output goes to Docker in the source's own chunks when they pass through
# whole (no copy); pieces smaller than this are joined first.
MIN_OUT = 64 * 1024
HASH_BATCH = 1024 * 1024   # bytes handed to the hashing thread at a time
HASH_QUEUE = 8             # batches waiting for it (8 MiB at most)
HASH_WAIT = 600      # seconds the hashing thread may lag at the end
_DROPPED = (layout.DOCKER_MANIFEST, layout.OCI_INDEX,
            layout.LEGACY_REPOSITORIES)


def _hasher(algo):
    if algo == 'md5':
        return hashlib.md5(usedforsecurity=False)
    try:
        return hashlib.new(algo)
    except ValueError:
        return None


class _HashThread(object):
    """Computes the checksums on a thread of its own.

    hashlib releases the GIL while it hashes, so the checksums are
    computed while the main thread parses and sends the previous chunks.
    Chunks are handed over in batches of about HASH_BATCH bytes, so the
    two threads meet a few times per MiB rather than once per chunk.
    """

    def __init__(self, hashers):
        self._hashers = hashers
        self._batch, self._batched = [], 0
        self._batches = queue.Queue(maxsize=HASH_QUEUE)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='image-checksum')
        self._thread.start()

    def _run(self):
        while not self._stopped.is_set():
            try:
                batch = self._batches.get(timeout=1)
            except queue.Empty:
                continue
            if batch is None:
                return
            data = b''.join(batch)
            for hasher in self._hashers:
                hasher.update(data)

    def update(self, chunk):
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= HASH_BATCH:
            self._batches.put(self._batch)
            self._batch, self._batched = [], 0

    def finish(self):
        """Wait until every chunk is hashed; False if it took too long."""
        if self._batch:
            self._batches.put(self._batch)
            self._batch, self._batched = [], 0
        self._batches.put(None)
        self._thread.join(HASH_WAIT)
        return not self._thread.is_alive()

    def stop(self):
        self._stopped.set()


class _NoHashing(object):
    """Stands in for :class:`_HashThread` when there is nothing to check."""

    def update(self, chunk):
        pass

    def finish(self):
        return True

    def stop(self):
        pass


def strongest(checksums):
    """Of Glance's checksums, the one worth computing: ``os_hash_value``
    (sha512 by default) when Glance has it, else the md5 ``checksum``.
    """
    multihash = [c for c in checksums if c[0] != 'md5']
    return (multihash or list(checksums))[:1]


class _Current(object):
    """What is known about the member whose data is streaming by."""

    def __init__(self, member, name, drop):
        self.member = member
        self.name = name
        self.drop = drop
        self.left = member.size
        self.head = bytearray()
        self.decided = False
        self.capture = None
        self.scanner = None


class ImageFilter(object):
    """One pass of one image tarball; see the module docstring.

    ``checksums`` is a list of ``(algorithm, hex digest)`` (``md5`` for
    Glance's ``checksum``, ``os_hash_algo`` for ``os_hash_value``), ``size``
    Glance's size or None, ``reference`` the name the loaded image gets
    (``nova-image:<glance id>``; None: no name). After the generator from
    :meth:`filter` is exhausted, ``plan`` says what was loaded and
    ``bytes_in`` how much.
    """

    def __init__(self, image_id, checksums=(), size=None, reference=None):
        self._image_id = image_id
        self._reference = reference
        self._size = size
        self._hashes = []
        for algo, expected in checksums:
            hasher = _hasher(algo)
            if hasher is None:
                raise self._refuse(_('unknown hash algorithm %s') % algo)
            self._hashes.append((algo, expected.lower(), hasher))
        self._reader = tar.TarReader()
        self._members = {}
        self._captured = {}
        self._captured_bytes = 0
        self._scanned = {}
        self._current = None
        self.plan = None
        self.bytes_in = 0

    def _refuse(self, reason):
        return exception.ImageUnacceptable(image_id=self._image_id,
                                           reason=reason)

    def filter(self, chunks):
        """Yield the bytes to send to ``docker load``."""
        hashers = [h for _a, _e, h in self._hashes]
        hashing = _HashThread(hashers) if hashers else _NoHashing()
        try:
            pending, size = [], 0
            for chunk in chunks:
                if not chunk:
                    continue
                chunk = bytes(chunk)
                self.bytes_in += len(chunk)
                hashing.update(chunk)
                pieces = self._process(chunk)
                passed = sum(len(p) for p in pieces)
                if passed == len(chunk) >= MIN_OUT and not pending:
                    yield chunk     # passed through whole: no copy
                    continue
                pending.extend(pieces)
                size += passed
                if size >= MIN_OUT:
                    yield b''.join(pending)
                    pending, size = [], 0
            if not hashing.finish():
                raise self._refuse(_('checksums took too long'))
            pending.append(self._finish())
            yield b''.join(pending)
        finally:
            hashing.stop()

    def _process(self, chunk):
        out = []
        try:
            for kind, payload, raw in self._reader.feed(chunk):
                if kind == tar.HEADER:
                    self._start(payload)
                    if not self._current.drop:
                        out.append(raw)
                elif kind == tar.DATA:
                    self._data(payload)
                    if not self._current.drop:
                        out.append(raw)
                elif kind == tar.PAD:
                    if not self._current.drop:
                        out.append(raw)
        except tar.TarError as e:
            raise self._refuse(str(e)) from None
        return out

    def _start(self, member):
        name = tar.check_member(member)
        if member.type not in tar.OUTER_TYPES:
            raise tar.TarError('member %s of type %r is not a file, '
                               'directory or link' % (name,
                                                      member.type))
        self._members[name] = member
        self._captured.pop(name, None)
        self._scanned.pop(name, None)
        self._current = _Current(member, name, name in _DROPPED)
        if not member.size:
            self._end_member()

    def _data(self, data):
        current = self._current
        current.left -= len(data)
        if not current.decided:
            current.head += data
            if len(current.head) >= tar.BLOCK or not current.left:
                self._decide(current)
        elif current.capture is not None:
            self._keep(current, data)
        elif current.scanner is not None:
            current.scanner.feed(data)
        if not current.left:
            self._end_member()

    def _decide(self, current):
        current.decided = True
        head = bytes(current.head)
        current.head = None
        if (current.member.size <= JSON_MEMBER_LIMIT and
                head.startswith(_JSON_START)):
            current.capture = bytearray()
            self._keep(current, head)
        elif tar.LayerScanner.looks_like_layer(head):
            current.scanner = tar.LayerScanner(head)
            current.scanner.feed(head)

    def _keep(self, current, data):
        self._captured_bytes += len(data)
        if self._captured_bytes > JSON_TOTAL_LIMIT:
            raise tar.TarError('more than %d bytes of JSON members'
                               % JSON_TOTAL_LIMIT)
        current.capture += data

    def _end_member(self):
        current = self._current
        if not current.decided and current.member.isreg():
            self._decide(current)
        if current.capture is not None:
            self._captured[current.name] = bytes(current.capture)
        if current.scanner is not None:
            self._scanned[current.name] = current.scanner.close()

    def _finish(self):
        try:
            self._reader.close()
        except tar.TarError as e:
            raise self._refuse(str(e)) from None
        if self._size and self.bytes_in != self._size:
            raise self._refuse(_('got %(got)d bytes, Glance says %(size)d') %
                               {'got': self.bytes_in, 'size': self._size})
        for algo, expected, hasher in self._hashes:
            if hasher.hexdigest() != expected:
                raise self._refuse(_('%(algo)s checksum mismatch: expected '
                                     '%(expected)s, got %(got)s') % {
                    'algo': algo, 'expected': expected,
                    'got': hasher.hexdigest()})
        try:
            self.plan = layout.plan(self._members, self._captured,
                                    self._scanned, self._reference)
        except layout.LayoutError as e:
            raise self._refuse(str(e)) from None
        tail = tar.member_bytes(layout.DOCKER_MANIFEST, self.plan.manifest)
        if self.plan.index is not None:
            tail += tar.member_bytes(layout.OCI_INDEX, self.plan.index)
        return tail + tar.end_of_archive()
