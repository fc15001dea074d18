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

"""Image tarballs built in Python: docker-archive and OCI layouts.

Used by the image loading tests and the benchmark; no registry and no
``docker save`` needed (``from_saved`` converts one when a test has it).
"""

import gzip
import hashlib
import io
import json
import tarfile

BLOCK = 512
SH = '/bin/sh'


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def _add(tar, name, data, **attrs):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    for k, v in attrs.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data))


def layer_tar(files):
    """A layer tarball with ``files`` (path -> bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
        for path, data in sorted(files.items()):
            _add(t, path, data)
    return buf.getvalue()


def config(diff_ids, cmd=(SH,)):
    return json.dumps({
        'architecture': 'amd64', 'os': 'linux',
        'config': {'Cmd': list(cmd), 'Env': ['PATH=/bin']},
        'rootfs': {'type': 'layers',
                   'diff_ids': ['sha256:' + d for d in diff_ids]},
    }, sort_keys=True).encode()


def docker_archive(layers, repo_tags=('example/image:latest',),
                   config_bytes=None, compress=False, manifest=None,
                   extra=()):
    """A ``docker save``-style tarball of one image made of ``layers``.

    ``manifest`` replaces the generated manifest.json (bytes, or None to
    leave it out: pass ``manifest=b''``); ``extra`` adds (TarInfo, bytes).
    """
    config_bytes = config_bytes or config(
        [sha256(layer) for layer in layers])
    buf = io.BytesIO()
    names = []
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for layer in layers:
            blob = gzip.compress(layer, mtime=0) if compress else layer
            d = sha256(blob)
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
            _add(tar, d + '/VERSION', b'1.0')
            _add(tar, d + '/layer.tar', blob)
            names.append(d + '/layer.tar')
        config_name = sha256(config_bytes) + '.json'
        _add(tar, config_name, config_bytes)
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
        if manifest is None:
            manifest = json.dumps([{'Config': config_name,
                                    'RepoTags': list(repo_tags),
                                    'Layers': names}]).encode()
        if manifest:
            _add(tar, 'manifest.json', manifest)
        if repo_tags:
            repo, tag = repo_tags[0].rsplit(':', 1)
            _add(tar, 'repositories', json.dumps(
                {repo: {tag: names[-1].split('/')[0] if names else ''}}
            ).encode())
    return buf.getvalue()


def oci_layout(layers, ref_name='example/image:latest', config_bytes=None,
               compress=False, docker_manifest=False, platform=None):
    """An OCI image layout tarball (what ``docker save`` of Docker 25+ and
    other tools write); ``docker_manifest`` adds their manifest.json.
    """
    config_bytes = config_bytes or config(
        [sha256(layer) for layer in layers])
    blobs = {}
    descriptors = []
    for layer in layers:
        blob = gzip.compress(layer, mtime=0) if compress else layer
        blobs[sha256(blob)] = blob
        descriptors.append({
            'mediaType': 'application/vnd.oci.image.layer.v1.tar' +
                         ('+gzip' if compress else ''),
            'digest': 'sha256:' + sha256(blob), 'size': len(blob)})
    blobs[sha256(config_bytes)] = config_bytes
    manifest = json.dumps({
        'schemaVersion': 2,
        'mediaType': 'application/vnd.oci.image.manifest.v1+json',
        'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                   'digest': 'sha256:' + sha256(config_bytes),
                   'size': len(config_bytes)},
        'layers': descriptors}).encode()
    blobs[sha256(manifest)] = manifest
    entry = {'mediaType': 'application/vnd.oci.image.manifest.v1+json',
             'digest': 'sha256:' + sha256(manifest), 'size': len(manifest),
             'annotations': {'io.containerd.image.name': ref_name,
                             'org.opencontainers.image.ref.name':
                                 ref_name.rsplit(':', 1)[-1]}}
    if platform:
        entry['platform'] = platform
    index = json.dumps({'schemaVersion': 2,
                        'mediaType': 'application/vnd.oci.image.index.v1+json',
                        'manifests': [entry]}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for d, blob in blobs.items():
            _add(tar, 'blobs/sha256/' + d, blob)
        _add(tar, 'index.json', index)
        if docker_manifest:
            _add(tar, 'manifest.json', json.dumps([{
                'Config': 'blobs/sha256/' + sha256(config_bytes),
                'RepoTags': [ref_name],
                'Layers': ['blobs/sha256/' + d['digest'][7:]
                           for d in descriptors]}]).encode())
        _add(tar, 'oci-layout', b'{"imageLayoutVersion": "1.0.0"}')
    return buf.getvalue()


def from_saved(saved):
    """(config bytes, [layer bytes]) of a docker-archive tarball."""
    with tarfile.open(fileobj=io.BytesIO(saved)) as tar:
        entry = json.load(tar.extractfile('manifest.json'))[0]
        cfg = tar.extractfile(entry['Config']).read()
        layers = [tar.extractfile(n).read() for n in entry['Layers']]
    return cfg, layers


def image_id(config_bytes):
    return 'sha256:' + sha256(config_bytes)


# Big images, generated as a stream.

def _header(name, size, type_=tarfile.REGTYPE, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = type_
    info.mode = mode
    return info.tobuf(tarfile.USTAR_FORMAT)


def _pad(size):
    return b'\0' * (-size % BLOCK)


class BigImage(object):
    """A docker-archive of ``base_layer`` plus one layer holding a file of
    ``size`` bytes, generated chunk by chunk (memory stays small).

    ``chunks()`` can be iterated any number of times and gives the same
    bytes; ``config_bytes`` and ``total`` are known up front.
    """

    def __init__(self, base_layer, size, seed=b'novadocker',
                 chunk=1024 * 1024):
        self.base = base_layer
        self.size = size
        self.chunk = chunk
        block = hashlib.sha512(seed).digest()
        self._pattern = (block * (chunk // len(block) + 1))[:chunk]
        self.big_len = BLOCK + size + len(_pad(size)) + 2 * BLOCK
        diff = hashlib.sha256()
        for piece in self._big_layer():
            diff.update(piece)
        self.config_bytes = config([sha256(base_layer), diff.hexdigest()])
        self.image_id = image_id(self.config_bytes)
        self._big_name = diff.hexdigest()
        self.total = sum(BLOCK + n + len(_pad(n)) for n in (
            len(self.base), self.big_len, len(self.config_bytes),
            len(self._manifest()))) + 2 * BLOCK

    def _big_layer(self):
        yield _header('big.bin', self.size)
        left = self.size
        while left:
            n = min(left, self.chunk)
            yield self._pattern[:n]
            left -= n
        yield _pad(self.size)
        yield b'\0' * (2 * BLOCK)

    def _manifest(self):
        return json.dumps([{
            'Config': sha256(self.config_bytes) + '.json',
            'RepoTags': ['example/big:latest'],
            'Layers': [sha256(self.base) + '/layer.tar',
                       self._big_name + '/layer.tar']}]).encode()

    def chunks(self):
        """The tarball, in pieces of at most ``chunk`` bytes (roughly)."""
        yield _header(sha256(self.base) + '/layer.tar', len(self.base))
        yield self.base + _pad(len(self.base))
        yield _header(self._big_name + '/layer.tar', self.big_len)
        yield from self._big_layer()
        yield _pad(self.big_len)
        cfg_name = sha256(self.config_bytes) + '.json'
        yield _header(cfg_name, len(self.config_bytes))
        yield self.config_bytes + _pad(len(self.config_bytes))
        manifest = self._manifest()
        yield _header('manifest.json', len(manifest))
        yield manifest + _pad(len(manifest))
        yield b'\0' * (2 * BLOCK)
