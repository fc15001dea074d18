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

"""image.tar: incremental tar parsing, path checks, layer scanning."""

import gzip
import io
import tarfile

import pytest

from novadocker.virt.docker.image import tar as image_tar
from tests import image_tarballs


def _tar(*members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name, data=b'x'):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, type_=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = target
    return info, None


def _events(data, step):
    reader = image_tar.TarReader()
    events = []
    for i in range(0, len(data), step):
        events.extend(reader.feed(data[i:i + step]))
    reader.close()
    return events


@pytest.mark.parametrize('step', [1, 100, 512, 513, 4096, 10 ** 6])
def test_events_rebuild_input_and_find_members(step):
    long_name = 'd/' + 'n' * 200
    data = _tar(_file('a', b'hello'), _file(long_name, b'y' * 1000),
                _link('l', 'a'))
    events = _events(data, step)
    assert b''.join(bytes(raw) for _k, _p, raw in events) == data
    headers = [p for k, p, _r in events if k == image_tar.HEADER]
    assert [(m.name, m.size) for m in headers] == [
        ('a', 5), (long_name, 1000), ('l', 0)]
    body = b''.join(bytes(p) for k, p, _r in events if k == image_tar.DATA)
    assert body == b'hello' + b'y' * 1000


def test_gnu_long_names():
    data = _tar(_file('x/' + 'g' * 150, b'z'), fmt=tarfile.GNU_FORMAT)
    headers = [p for k, p, _r in _events(data, 7) if k == image_tar.HEADER]
    assert headers[0].name == 'x/' + 'g' * 150


@pytest.mark.parametrize('data, reason', [
    (b'', 'no data'),
    (b'not a tarball at all' * 100, 'not a tar archive'),
    (_tar(_file('a', b'x' * 2000))[:1500], 'truncated'),
    (_tar(_file('a'))[:512 * 2], 'truncated'),
])
def test_bad_archives(data, reason):
    with pytest.raises(image_tar.TarError, match=reason):
        _events(data, 300)


def test_corrupt_header_checksum():
    data = bytearray(_tar(_file('a')))
    data[0:1] = b'b'
    with pytest.raises(image_tar.TarError, match='not a tar archive'):
        _events(bytes(data), 512)


@pytest.mark.parametrize('member', [
    _file('../evil'), _file('/etc/passwd'), _file('a/../../evil'),
    _link('a/l', '../../x'), _link('h', '../x', tarfile.LNKTYPE),
    _link('h', '/etc/shadow', tarfile.LNKTYPE),
])
def test_escaping_members_refused(member):
    with pytest.raises(image_tar.TarError, match='escapes|absolute'):
        image_tar.check_member(image_tar.Member(
            member[0].name, member[0].type, member[0].size,
            member[0].linkname))


@pytest.mark.parametrize('member', [
    _file('a/./b'), _link('a/l', '../b'), _link('bin', '/usr/bin'),
    _link('h', 'a/b', tarfile.LNKTYPE),
])
def test_contained_members_accepted(member):
    image_tar.check_member(image_tar.Member(
        member[0].name, member[0].type, member[0].size, member[0].linkname))


def test_member_bytes_round_trip():
    data = image_tar.member_bytes('manifest.json', b'[1]') + \
        image_tar.end_of_archive()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.extractfile('manifest.json').read() == b'[1]'


def _scan(layer, step=1000):
    scanner = image_tar.LayerScanner(layer[:512])
    for i in range(0, len(layer), step):
        scanner.feed(layer[i:i + step])
    return scanner.close()


@pytest.mark.parametrize('compress', [False, True])
def test_layer_scanner_good(compress):
    layer = image_tarballs.layer_tar({'bin/x': b'1' * 5000, 'etc/y': b''})
    if compress:
        layer = gzip.compress(layer)
    assert image_tar.LayerScanner.looks_like_layer(layer[:512])
    assert _scan(layer) is None


@pytest.mark.parametrize('compress', [False, True])
def test_layer_scanner_finds_escape(compress):
    layer = _tar(_file('ok'), _file('../../etc/cron.d/x'))
    if compress:
        layer = gzip.compress(layer)
    assert 'escapes' in _scan(layer)


def test_layer_scanner_finds_duplicates():
    assert 'twice' in _scan(_tar(_file('a/b'), _file('a/b')))
    directory = tarfile.TarInfo('d')
    directory.type = tarfile.DIRTYPE
    assert _scan(_tar((directory, None), (directory, None),
                      _file('d/x'))) is None


def test_layer_scanner_finds_members_beneath_symlinks():
    error = _scan(_tar(_link('etc', '/etc'), _file('etc/cron.d/x')))
    assert 'beneath the symlink etc' in error
    error = _scan(_tar(_link('a/b', '../c'), _file('a/b/c/d')))
    assert 'beneath the symlink a/b' in error
    assert _scan(_tar(_link('ab', '/x'), _file('abc'))) is None


def test_layer_scanner_finds_truncation():
    layer = gzip.compress(image_tarballs.layer_tar({'a': b'x' * 10000}))
    assert 'truncated' in _scan(layer[:-20])
    plain = image_tarballs.layer_tar({'a': b'x' * 10000})
    assert 'truncated' in _scan(plain[:5120])


def test_empty_layer_is_a_layer():
    empty = b'\0' * 1024
    assert image_tar.LayerScanner.looks_like_layer(empty)
    assert _scan(empty) is None


def test_json_is_not_a_layer():
    assert not image_tar.LayerScanner.looks_like_layer(b'{"a": 1}' * 100)
