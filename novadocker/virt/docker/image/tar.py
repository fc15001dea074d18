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

"""Incremental tar parsing for image tarballs that stream through us.

:class:`TarReader` is fed the bytes of a tar archive chunk by chunk, as they
arrive, and turns them into events without ever holding more than one
header (plus its extended headers) in memory. Each event carries the raw
bytes it was parsed from, so a caller can pass the archive on unchanged,
drop members, or append new ones (:func:`member_bytes`).

:class:`LayerScanner` uses it to check a layer tarball nested inside an
image tarball, uncompressing gzip on the fly.
"""

import posixpath
import tarfile
import zlib

BLOCK = tarfile.BLOCKSIZE
# Extended headers (long names, pax records) are small; anything bigger is
# not a tarball that docker save wrote.
MAX_EXTENDED = 1024 * 1024

HEADER = 'header'    # payload: Member
DATA = 'data'        # payload: memoryview of the member's data
PAD = 'pad'          # payload: None (the zero padding after the data)
END = 'end'          # payload: None (end-of-archive blocks and trailer)

_EXTENDED = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
             tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
# What the outer archive of docker save holds.
OUTER_TYPES = tarfile.REGULAR_TYPES + (tarfile.DIRTYPE, tarfile.SYMTYPE,
                                       tarfile.LNKTYPE)
_NO_DATA = (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
            tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)


class TarError(ValueError):
    """The bytes are not a well-formed, safe tar archive."""


class Member(object):
    __slots__ = ('name', 'type', 'size', 'linkname')

    def __init__(self, name, type_, size, linkname):
        self.name = name
        self.type = type_
        self.size = size
        self.linkname = linkname

    def isreg(self):
        return self.type in tarfile.REGULAR_TYPES

    def __repr__(self):
        return 'Member(%r, %r, %d)' % (self.name, self.type, self.size)


def _padding(size):
    return -size % BLOCK


def _parse_pax(data):
    records = {}
    pos = 0
    while pos < len(data):
        space = data.find(b' ', pos)
        if space < 0:
            raise TarError('malformed pax header')
        try:
            length = int(data[pos:space])
        except ValueError:
            raise TarError('malformed pax header') from None
        record = data[space + 1:pos + length]
        if length <= 0 or not record.endswith(b'\n') or b'=' not in record:
            raise TarError('malformed pax header')
        key, value = record[:-1].split(b'=', 1)
        records[key.decode('utf-8', 'replace')] = value.decode(
            'utf-8', 'surrogateescape')
        pos += length
    return records


class TarReader(object):
    """Incremental tar parser: ``feed(bytes)`` returns events.

    An event is ``(kind, payload, raw)``; concatenating every ``raw`` gives
    back the input. ``close()`` raises TarError when the input ended before
    the end-of-archive marker.
    """

    def __init__(self):
        self._buf = bytearray()      # header bytes not yet parsed
        self._raw_ext = bytearray()  # raw extended headers of next member
        self._ext = {}               # their meaning: path, linkpath, size
        self._ext_left = 0           # data bytes of an extended header
        self._ext_data = bytearray()
        self._ext_type = None
        self._ext_size = 0
        self._data_left = 0
        self._pad_left = 0
        self._ended = False
        self.members = 0

    @property
    def ended(self):
        return self._ended

    def close(self):
        if not self._ended:
            if self.members == 0 and not self._buf and not self._data_left:
                raise TarError('no data')
            raise TarError('the archive is truncated (no end-of-archive '
                           'marker)')

    def feed(self, chunk):
        events = []
        view = memoryview(chunk)
        pos, size = 0, len(view)
        while pos < size:
            if self._ended:
                events.append((END, None, view[pos:]))
                break
            if self._data_left:
                n = min(self._data_left, size - pos)
                self._data_left -= n
                piece = view[pos:pos + n]
                events.append((DATA, piece, piece))
                pos += n
            elif self._pad_left:
                n = min(self._pad_left, size - pos)
                self._pad_left -= n
                events.append((PAD, None, view[pos:pos + n]))
                pos += n
            elif self._ext_left:
                n = min(self._ext_left, size - pos)
                self._ext_data += view[pos:pos + n]
                self._raw_ext += view[pos:pos + n]
                self._ext_left -= n
                pos += n
                if not self._ext_left:
                    self._finish_extended()
            else:
                n = min(BLOCK - len(self._buf), size - pos)
                self._buf += view[pos:pos + n]
                pos += n
                if len(self._buf) == BLOCK:
                    event = self._header()
                    if event is not None:
                        events.append(event)
        return events

    def _header(self):
        block = bytes(self._buf)
        self._buf.clear()
        if block == tarfile.NUL * BLOCK:
            if self._raw_ext:
                raise TarError('extended header without a member')
            self._ended = True
            return (END, None, block)
        try:
            info = tarfile.TarInfo.frombuf(block, 'utf-8', 'surrogateescape')
        except tarfile.HeaderError as e:
            raise TarError('not a tar archive or a corrupt header (%s)'
                           % e) from None
        if info.type in _EXTENDED:
            if info.size > MAX_EXTENDED:
                raise TarError('extended tar header of %d bytes' % info.size)
            self._raw_ext += block
            self._ext_type = info.type
            self._ext_left = info.size + _padding(info.size)
            self._ext_size = info.size
            if not self._ext_left:
                self._finish_extended()
            return None
        if info.type == tarfile.GNUTYPE_SPARSE:
            raise TarError('sparse member %s' % info.name)
        member = self._member(info)
        raw = bytes(self._raw_ext) + block
        self._raw_ext.clear()
        self._ext = {}
        self._data_left = member.size
        self._pad_left = _padding(member.size)
        self.members += 1
        return (HEADER, member, raw)

    def _finish_extended(self):
        data = bytes(self._ext_data[:self._ext_size])
        self._ext_data.clear()
        if self._ext_type == tarfile.GNUTYPE_LONGNAME:
            self._ext['path'] = tarfile.nts(data, 'utf-8', 'surrogateescape')
        elif self._ext_type == tarfile.GNUTYPE_LONGLINK:
            self._ext['linkpath'] = tarfile.nts(data, 'utf-8',
                                                'surrogateescape')
        elif self._ext_type in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE):
            self._ext.update(_parse_pax(data))
        # Global pax headers (XGLTYPE) carry no per-member path we use.

    def _member(self, info):
        name = self._ext.get('path', info.name)
        linkname = self._ext.get('linkpath', info.linkname)
        size = info.size
        if 'size' in self._ext:
            try:
                size = int(self._ext['size'])
            except ValueError:
                raise TarError('bad pax size for %s' % name) from None
        if info.type in _NO_DATA:
            size = 0
        if size < 0:
            raise TarError('negative size for %s' % name)
        return Member(name, info.type, size, linkname)


def safe_name(name):
    """``name`` normalised, or TarError if it leaves the archive's root."""
    if not name or '\x00' in name:
        raise TarError('empty member name or NUL in %r' % name)
    if name.startswith('/'):
        raise TarError('absolute member path %s' % name)
    norm = posixpath.normpath(name)
    if norm == '..' or norm.startswith('../'):
        raise TarError('member path %s escapes the archive' % name)
    return norm


def check_member(member):
    """TarError unless ``member`` stays inside the archive's root."""
    name = safe_name(member.name)
    if member.type == tarfile.LNKTYPE:
        safe_name(member.linkname)
    elif member.type == tarfile.SYMTYPE and not member.linkname.startswith(
            '/'):
        # A relative symlink must resolve inside the root; absolute ones
        # inside a layer are the container's business (/bin -> usr/bin).
        safe_name(posixpath.join(posixpath.dirname(name), member.linkname))
    return name


def member_bytes(name, data):
    """A tar member (header, data, padding) holding ``data``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    header = info.tobuf(tarfile.PAX_FORMAT, 'utf-8', 'surrogateescape')
    return header + data + tarfile.NUL * _padding(len(data))


def end_of_archive():
    return tarfile.NUL * (2 * BLOCK)


GZIP_MAGIC = b'\x1f\x8b'


class LayerScanner(object):
    """Checks a layer tarball (plain or gzip) as its bytes go by.

    ``feed`` never raises: a layer is judged when the image's manifest says
    which members are layers, so the first problem is kept in ``error``.
    """

    def __init__(self, first_bytes):
        self._inflate = None
        if first_bytes.startswith(GZIP_MAGIC):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._reader = TarReader()
        self._names = set()
        self._symlinks = set()
        self.error = None

    def feed(self, data):
        if self.error is not None:
            return
        try:
            if self._inflate is not None:
                data = self._inflate.decompress(data)
            if self._reader.ended or not data:
                return
            for kind, payload, _raw in self._reader.feed(data):
                if kind == HEADER:
                    self._check(payload)
        except (TarError, zlib.error) as e:
            self.error = str(e)

    def _check(self, member):
        """What Docker would refuse only after it unpacked part of the
        layer: a path given twice, or a path beneath a symlink of the same
        layer (which would be written through the link).
        """
        name = check_member(member)
        parent = posixpath.dirname(name)
        while parent:
            if parent in self._symlinks:
                raise TarError('member %s lies beneath the symlink %s'
                               % (name, parent))
            parent = posixpath.dirname(parent)
        if member.type != tarfile.DIRTYPE:
            if name in self._names:
                raise TarError('member %s appears twice' % name)
            self._names.add(name)
        if member.type == tarfile.SYMTYPE:
            self._symlinks.add(name)

    def close(self):
        if self.error is None:
            if self._inflate is not None and not self._inflate.eof:
                self.error = 'the compressed layer is truncated'
                return self.error
            try:
                self._reader.close()
            except TarError as e:
                self.error = str(e)
        return self.error

    @staticmethod
    def looks_like_layer(first_bytes):
        """Whether a member's first bytes start a layer tarball."""
        if first_bytes.startswith(GZIP_MAGIC):
            return True
        if len(first_bytes) < BLOCK:
            return False
        if bytes(first_bytes[:BLOCK]) == tarfile.NUL * BLOCK:
            return True   # an empty layer: just the end-of-archive marker
        try:
            tarfile.TarInfo.frombuf(bytes(first_bytes[:BLOCK]), 'utf-8',
                                    'surrogateescape')
        except tarfile.HeaderError:
            return False
        return True
