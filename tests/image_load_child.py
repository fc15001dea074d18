"""Load one image through the driver's path in a fresh process and
report its peak memory (used by the integration test and benchmark).

``python -m tests.image_load_child <docker url> <glance id> <size|path>
[--no-checksums | --glance-url URL]``: a size in bytes generates an image
(busybox plus one big file) served chunk by chunk the way glanceclient
serves one (64 KiB pieces); a path serves that tarball file the same way,
with Glance's md5 ``checksum`` and sha512 ``os_hash_value`` (unless
``--no-checksums``). With ``--glance-url`` the image (``<glance id>`` there)
comes through the driver's real Glance path instead: nova's glance.API and
glanceclient over HTTP from that URL (``tests.glance_http``).

It prints one JSON line: bytes streamed, seconds, the Docker image ID, the
process's peak RSS (``VmHWM``) before and after the load and its RSS just
before it, in KiB; the load's memory growth is ``hwm_after - rss_before``.
"""

import os
import sys
import time

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

import hashlib  # noqa: E402
import json  # noqa: E402

from tests import image_tarballs  # noqa: E402
from tests import images as test_images  # noqa: E402

GLANCE_CHUNK = 64 * 1024


def _status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError('no %s in /proc/self/status' % field)


def vm_hwm_kib():
    """Peak resident memory of this process so far."""
    return _status_kib('VmHWM')


def vm_rss_kib():
    return _status_kib('VmRSS')


def rechunk(chunks, size):
    """Pieces of exactly ``size`` bytes (the last one shorter)."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


class GeneratedGlance(object):
    """``get``/``download`` of one generated image, counting downloads."""

    def __init__(self, image_id, big):
        self.image_id = image_id
        self.big = big
        self.downloads = 0

    def get(self, context, image_id):
        return {'id': image_id, 'size': self.big.total, 'checksum': None}

    def download(self, context, image_id):
        self.downloads += 1
        return rechunk(self.big.chunks(), GLANCE_CHUNK)


class FileGlance(object):
    """A tarball file served as Glance serves it, with Glance's checksums
    (md5 ``checksum`` and sha512 ``os_hash_value``)."""

    def __init__(self, path):
        self.path = path
        md5, sha512 = hashlib.md5(), hashlib.sha512()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b''):
                md5.update(chunk)
                sha512.update(chunk)
        self.meta = {'size': os.path.getsize(path),
                     'checksum': md5.hexdigest(), 'os_hash_algo': 'sha512',
                     'os_hash_value': sha512.hexdigest()}
        self.downloads = 0

    def get(self, context, image_id):
        return dict(self.meta, id=image_id)

    def download(self, context, image_id):
        self.downloads += 1
        with open(self.path, 'rb') as f:
            yield from iter(lambda: f.read(GLANCE_CHUNK), b'')


def _over_http(glance_url):
    """The driver's own image source and a user context, for Glance at
    ``glance_url``."""
    from nova import context as nova_context
    from novadocker.virt.docker import images

    images.CONF.set_override('api_servers', [glance_url], group='glance')
    images.CONF.set_override('num_retries', 0, group='glance')
    return nova_context.RequestContext('bench', 'bench', auth_token='bench',
                                       is_admin=False)


def main(url, glance_id, source, checksums=True, glance_url=None):
    """``source``: a size in bytes (generated image) or a tarball path;
    ``checksums=False`` leaves Glance's checksums out of the file's
    metadata (to tell their cost from the rest); ``glance_url``: load
    through nova's Glance API and glanceclient from there."""
    from novadocker.virt.docker import client as docker_client
    from novadocker.virt.docker import images

    images.CONF([], project='nova', default_config_files=[])
    images.CONF.set_override('shared_directory', None, group='docker')
    context = None
    if glance_url:
        context = _over_http(glance_url)
        glance, total, expected = None, os.path.getsize(source), None
    elif source.isdigit():
        big = image_tarballs.BigImage(test_images.busybox_rootfs(),
                                      int(source), seed=glance_id.encode())
        glance, total = GeneratedGlance(glance_id, big), big.total
        expected = big.image_id
    else:
        glance = FileGlance(source)
        if not checksums:
            for key in ('checksum', 'os_hash_algo', 'os_hash_value'):
                glance.meta.pop(key)
        total, expected = glance.meta['size'], None
    store = images.ImageStore(docker_client.DockerClient(url),
                              image_api=glance)
    before = vm_hwm_kib()
    rss_before = vm_rss_kib()
    start = time.monotonic()
    ref = store.load(context, glance_id)
    seconds = time.monotonic() - start
    print(json.dumps({'bytes': total, 'seconds': seconds, 'ref': ref,
                      'image_id': store._client.inspect_image(ref)['Id'],
                      'expected_id': expected,
                      'hwm_before_kib': before,
                      'rss_before_kib': rss_before,
                      'hwm_after_kib': vm_hwm_kib()}))


if __name__ == '__main__':
    options = sys.argv[4:]
    main(sys.argv[1], sys.argv[2], sys.argv[3],
         checksums='--no-checksums' not in options,
         glance_url=(options[options.index('--glance-url') + 1]
                     if '--glance-url' in options else None))
