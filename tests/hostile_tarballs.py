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

"""Hostile image tarballs for the hostile input tests.

Each function returns the bytes of one image a hostile or careless user
could upload to Glance. ``probe`` is a path on the host that no image may
reach: the tests create or watch it.
"""

import io
import json
import tarfile

from tests import image_tarballs as tb
from tests import images as test_images


def _member(name, data=b'', **attrs):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def layer_with(*members):
    """A layer tarball holding ``members`` ((TarInfo, bytes) pairs) in the
    order given (duplicates kept).
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def image_of(*extra_layers, compress=False, **kwargs):
    """A docker-archive of busybox plus ``extra_layers``."""
    layers = [test_images.busybox_rootfs()] + list(extra_layers)
    return tb.docker_archive(layers, repo_tags=[], compress=compress,
                             **kwargs)


def good():
    return image_of()


def truncated():
    data = good()
    return data[:len(data) // 2]


def not_tar():
    return b'\x7fELF\x02\x01\x01' + bytes(range(256)) * 64


def manifest_naming_missing_layer():
    layer = test_images.busybox_rootfs()
    config = tb.config([tb.sha256(layer)])
    manifest = json.dumps([{'Config': tb.sha256(config) + '.json',
                            'RepoTags': [],
                            'Layers': ['f' * 64 + '/layer.tar']}]).encode()
    return tb.docker_archive([layer], config_bytes=config, repo_tags=[],
                             manifest=manifest)


def outer_member(name):
    """A good image with one more member named ``name`` in the outer
    archive.
    """
    return image_of(extra=[_member(name, b'x')])


def layer_member(name):
    return image_of(layer_with(_member(name, b'x')))


def symlink_out(probe, relative=False):
    """A symlink pointing at the host path ``probe``: absolute, or
    climbing out through many ``..``.
    """
    target = '../' * 16 + probe.lstrip('/') if relative else probe
    return image_of(layer_with(
        _member('escape-abs', type=tarfile.SYMTYPE, linkname=target)))


def write_through_symlink(probe_dir):
    """A symlink to a host directory followed by a file beneath it: the
    file must land inside the image, never in ``probe_dir``.
    """
    return image_of(layer_with(
        _member('through', type=tarfile.SYMTYPE, linkname=probe_dir),
        _member('through/planted', b'planted')))


def device_nodes():
    """/dev/mem and /dev/sda as nodes in the image (outside /dev)."""
    return image_of(layer_with(
        _member('mem', type=tarfile.CHRTYPE, devmajor=1, devminor=1),
        _member('sda', type=tarfile.BLKTYPE, devmajor=8, devminor=0)))


def setuid_file():
    with open(test_images.BUSYBOX, 'rb') as f:
        busybox = f.read()
    return image_of(layer_with(
        _member('suid-busybox', busybox, mode=0o4755, uid=0, gid=0)))


def decompression_bomb(size):
    """A gzip layer of ``size`` zero bytes: about 1000x its own size."""
    return image_of(layer_with(_member('zeros', b'\0' * size)),
                    compress=True)


def duplicate_entries():
    return image_of(layer_with(_member('dup', b'first'),
                               _member('dup', b'second')))


def duplicate_manifest():
    data = image_of()
    manifest = tarfile.open(fileobj=io.BytesIO(data)).extractfile(
        'manifest.json').read()
    return image_of(extra=[_member('manifest.json', manifest)])


def foreign_platforms_only():
    layer = test_images.busybox_rootfs()
    config = json.loads(tb.config([tb.sha256(layer)]))
    config['architecture'] = 's390x'
    return tb.oci_layout([layer], config_bytes=json.dumps(config).encode(),
                         platform={'architecture': 's390x', 'os': 'linux'})
