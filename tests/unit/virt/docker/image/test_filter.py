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

"""image.filter: every bad tarball is refused; good ones come out loadable.

Tarballs are built in memory; "loadable" means a tar whose manifest.json
(what Docker 20.10 and graph-driver stores read) points at the config and
layers it holds, and whose index.json (what the containerd image store
reads), when there is one, holds the same image; both name it by the
reference given, or not at all.
"""

import hashlib
import io
import json
import tarfile

from nova import exception
import pytest

from novadocker.virt.docker.image import filter as image_filter
from novadocker.virt.docker.image import tar as image_tar
from tests import image_tarballs as tb

LAYER = tb.layer_tar({'bin/sh': b'#!fake', 'etc/hostname': b'x\n'})
LAYER2 = tb.layer_tar({'data/file': b'2' * 3000})


REF = 'nova-image:img-1'


def _run(data, checksums=(), size=None, step=777, reference=None):
    f = image_filter.ImageFilter('img-1', checksums, size, reference)
    chunks = (data[i:i + step] for i in range(0, len(data), step))
    return f, b''.join(f.filter(chunks))


def _members(out):
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None)
                for m in tar.getmembers()}


def _loaded_manifest(out):
    members = _members(out)
    manifest = json.loads(members['manifest.json'])
    assert len(manifest) == 1
    return members, manifest[0]


@pytest.mark.parametrize('compress', [False, True])
def test_docker_archive_passes_without_tags(compress):
    data = tb.docker_archive([LAYER, LAYER2], repo_tags=['busybox:latest'],
                             compress=compress)
    f, out = _run(data)
    members, entry = _loaded_manifest(out)
    assert entry['RepoTags'] == []
    assert 'repositories' not in members
    cfg = members[entry['Config']]
    assert f.plan.image_id == tb.image_id(cfg)
    assert f.plan.layout == 'docker-archive'
    assert [len(members[n]) > 0 for n in entry['Layers']] == [True, True]
    assert f.bytes_in == len(data)


@pytest.mark.parametrize('compress', [False, True])
def test_oci_layout_gets_a_docker_manifest(compress):
    data = tb.oci_layout([LAYER, LAYER2], compress=compress)
    f, out = _run(data)
    members, entry = _loaded_manifest(out)
    assert f.plan.layout == 'oci'
    assert entry['RepoTags'] == []
    assert entry['Config'].startswith('blobs/sha256/')
    cfg = members[entry['Config']]
    assert json.loads(cfg)['rootfs']['diff_ids'] == [
        'sha256:' + tb.sha256(LAYER), 'sha256:' + tb.sha256(LAYER2)]
    assert f.plan.image_id == tb.image_id(cfg)
    # The index keeps the image's manifest, without the tarball's name.
    index = json.loads(members['index.json'])
    original = json.loads(_members(data)['index.json'])['manifests'][0]
    assert index['manifests'] == [{k: original[k] for k in (
        'mediaType', 'digest', 'size')}]
    assert 'oci-layout' in members


@pytest.mark.parametrize('docker_manifest', [False, True])
def test_both_files_name_the_image_by_the_reference_only(docker_manifest):
    data = tb.oci_layout([LAYER], ref_name='docker.io/library/busybox:1',
                         docker_manifest=docker_manifest)
    f, out = _run(data, reference=REF)
    members, entry = _loaded_manifest(out)
    assert entry['RepoTags'] == [REF]
    [descriptor] = json.loads(members['index.json'])['manifests']
    assert descriptor['annotations'] == {
        'io.containerd.image.name': 'docker.io/library/nova-image:img-1',
        'org.opencontainers.image.ref.name': 'img-1'}
    assert b'busybox:1' not in out
    # One manifest.json and one index.json: the tarball's own are dropped.
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        names = tar.getnames()
    assert names.count('manifest.json') == names.count('index.json') == 1


def test_index_and_manifest_of_different_images_refused():
    oci = tb.oci_layout([LAYER])
    other = tb.docker_archive([LAYER2])
    with tarfile.open(fileobj=io.BytesIO(other)) as tar:
        manifest = tar.extractfile('manifest.json').read()
        extra = [(m, tar.extractfile(m).read() if m.isfile() else None)
                 for m in tar.getmembers() if m.name != 'manifest.json']
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(oci)) as src, \
            tarfile.open(fileobj=buf, mode='w') as tar:
        for m in src.getmembers():
            tar.addfile(m, src.extractfile(m))
        for m, data in extra:
            tar.addfile(m, io.BytesIO(data) if data is not None else None)
        info = tarfile.TarInfo('manifest.json')
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    with pytest.raises(exception.ImageUnacceptable,
                       match='describe different images'):
        _run(buf.getvalue())


def test_oci_with_docker_manifest_uses_the_manifest():
    data = tb.oci_layout([LAYER], docker_manifest=True)
    f, out = _run(data)
    _members_, entry = _loaded_manifest(out)
    assert f.plan.layout == 'docker-archive'
    assert entry['RepoTags'] == []


def test_oci_index_picks_this_hosts_platform():
    data = tb.oci_layout([LAYER], platform={'os': 'linux',
                                            'architecture': 'amd64'})
    assert _run(data)[0].plan is not None
    data = tb.oci_layout([LAYER], platform={'os': 'linux',
                                            'architecture': 'riscv64'})
    with pytest.raises(exception.ImageUnacceptable, match='exactly one'):
        _run(data)


@pytest.mark.parametrize('algo', ['sha512', 'sha256'])
def test_checksums_match(algo):
    data = tb.docker_archive([LAYER])
    sums = [('md5', hashlib.md5(data).hexdigest()),
            (algo, hashlib.new(algo, data).hexdigest().upper())]
    f, _out = _run(data, sums, size=len(data))
    assert f.plan is not None


@pytest.mark.parametrize('sums', [
    [('md5', '0' * 32)], [('sha512', 'f' * 128)], [('sha256', 'e' * 64)],
])
def test_checksum_mismatch_refused(sums):
    with pytest.raises(exception.ImageUnacceptable, match='mismatch'):
        _run(tb.docker_archive([LAYER]), sums)


def test_unknown_hash_algorithm_refused():
    with pytest.raises(exception.ImageUnacceptable, match='unknown hash'):
        image_filter.ImageFilter('img-1', [('crc-13', 'x')])


def test_size_mismatch_refused():
    data = tb.docker_archive([LAYER])
    with pytest.raises(exception.ImageUnacceptable, match='Glance says'):
        _run(data, size=len(data) + 1)


def _dir(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info, None


def _file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def _plain_tar(*members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _manifest(config, layers):
    return json.dumps([{'Config': config, 'RepoTags': ['x:y'],
                        'Layers': layers}]).encode()


_GOOD = tb.docker_archive([LAYER])
_CFG = tb.sha256(tb.config([tb.sha256(LAYER)])) + '.json'
_LAYER_NAME = tb.sha256(LAYER) + '/layer.tar'
_FIFO = tarfile.TarInfo('fifo')
_FIFO.type = tarfile.FIFOTYPE

BAD = {
    'not a tar': (b'\x89PNG\r\n' + b'\0' * 5000, 'not a tar'),
    'qcow2': (b'QFI\xfb' + b'\1' * 4000, 'not a tar'),
    'empty input': (b'', 'no data'),
    'empty tar': (b'\0' * 10240, 'empty'),
    'tar of something else': (_plain_tar(_file('etc/passwd', b'root:x')),
                              'neither manifest.json nor index.json'),
    'truncated': (_GOOD[:len(_GOOD) // 2], 'truncated'),
    'truncated at the end marker': (_GOOD[:_GOOD.rindex(b'}]') + 600],
                                    'truncated'),
    'member with ..': (tb.docker_archive(
        [LAYER], extra=[_file('../evil', b'x')]), 'escapes'),
    'absolute member': (tb.docker_archive(
        [LAYER], extra=[_file('/etc/evil', b'x')]), 'absolute'),
    'symlink out': (tb.docker_archive(
        [LAYER], extra=[_link('esc', '../../etc')]), 'escapes'),
    'device member': (tb.docker_archive([LAYER], extra=[(_FIFO, None)]),
                      'not a file'),
    'manifest points outside': (tb.docker_archive(
        [LAYER], manifest=_manifest(_CFG, ['../../etc/shadow'])),
        'outside the archive'),
    'manifest names a missing layer': (tb.docker_archive(
        [LAYER], manifest=_manifest(_CFG, ['nope/layer.tar'])),
        'not in the archive'),
    'manifest names a missing config': (tb.docker_archive(
        [LAYER], manifest=_manifest('nope.json', [_LAYER_NAME])),
        'not in the archive'),
    'layer escapes its path': (tb.docker_archive(
        [_plain_tar(_file('../../../root/.ssh/authorized_keys', b'k'))]),
        'escapes'),
    'layer is not a tarball': (tb.docker_archive([b'\x28\xb5\x2f\xfd' +
                                                  b'z' * 700]),
                               'not a tar or gzip'),
    'two images': (tb.docker_archive([LAYER], manifest=json.dumps(
        [{'Config': _CFG, 'Layers': [_LAYER_NAME]}] * 2).encode()),
        'exactly one'),
    'manifest not json': (tb.docker_archive([LAYER], manifest=b'[oops'),
                          'missing or too large|not valid JSON'),
    'config layer count': (tb.docker_archive(
        [LAYER], config_bytes=tb.config([])), 'lists 0 layers'),
    'oci blob digest wrong': (tb.oci_layout([LAYER]).replace(
        b'"Cmd": ["/bin/sh"]', b'"Cmd": ["/bin/zz"]'), 'digest'),
}


@pytest.mark.parametrize('name', sorted(BAD))
@pytest.mark.parametrize('step', [512, 65536])
def test_bad_input_refused(name, step):
    data, reason = BAD[name]
    with pytest.raises(exception.ImageUnacceptable, match=reason):
        _run(data, step=step)


@pytest.mark.parametrize('name', sorted(BAD))
def test_docker_never_gets_a_complete_tarball(name):
    """Whatever was passed on before the refusal has no end marker and no
    manifest.json: Docker cannot load it.
    """
    data, _reason = BAD[name]
    f = image_filter.ImageFilter('img-1')
    sent = bytearray()
    with pytest.raises(exception.ImageUnacceptable):
        for piece in f.filter(data[i:i + 999]
                              for i in range(0, len(data), 999)):
            sent += piece
    reader = image_tar.TarReader()
    names = [p.name for k, p, _r in reader.feed(bytes(sent))
             if k == image_tar.HEADER]
    assert not reader.ended
    assert 'manifest.json' not in names


def test_strongest_checksum_is_the_one_checked():
    sums = [('md5', 'a' * 32), ('sha512', 'b' * 128)]
    assert image_filter.strongest(sums) == [('sha512', 'b' * 128)]
    assert image_filter.strongest(sums[:1]) == [('md5', 'a' * 32)]
    assert image_filter.strongest([]) == []


def test_abandoned_filter_stops_its_hashing_thread(monkeypatch):
    # Only the threads this filter starts are counted, not the process's.
    threads = []

    class RecordingHashThread(image_filter._HashThread):
        def __init__(self, hashers):
            super().__init__(hashers)
            threads.append(self._thread)

    monkeypatch.setattr(image_filter, '_HashThread', RecordingHashThread)
    data = tb.docker_archive([tb.layer_tar({'big': b'b' * (3 << 20)})])
    f = image_filter.ImageFilter('img-1', [('md5', '0' * 32)])
    gen = f.filter(data[i:i + 65536] for i in range(0, len(data), 65536))
    assert len(next(gen)) >= image_filter.MIN_OUT
    assert len(threads) == 1 and threads[0].is_alive()
    gen.close()
    # It looks for the stop flag at least once a second.
    threads[0].join(10)
    assert not threads[0].is_alive()


def test_big_chunks_pass_through_uncopied_small_ones_are_joined():
    data = tb.docker_archive([tb.layer_tar({'big': b'b' * (1 << 20)})])
    step = image_filter.MIN_OUT
    chunks = [data[i:i + step] for i in range(0, len(data), step)]
    f = image_filter.ImageFilter('img-1', [('sha512',
                                           hashlib.sha512(data).hexdigest())])
    out = list(f.filter(iter(chunks)))
    # The big file's chunks go to Docker as the very objects that came in.
    assert sum(any(o is c for c in chunks) for o in out) >= 10
    _members(b''.join(out))

    f = image_filter.ImageFilter('img-1')
    out = list(f.filter(data[i:i + 100] for i in range(0, len(data), 100)))
    assert all(len(o) >= image_filter.MIN_OUT for o in out[:-1])
    assert len(out) < len(data) // image_filter.MIN_OUT + 2
