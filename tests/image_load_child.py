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

"""Load one image through the driver's path in a fresh process and
report its peak memory (used by the integration test and benchmark).

``python -m tests.image_load_child <docker url> <glance id> <size|path>
[--no-checksums | --digests JSON | --glance-url URL]``: a size in bytes
generates an image (busybox plus one big file) served chunk by chunk the
way glanceclient serves one (64 KiB pieces); a path serves that tarball
file the same way, with Glance's md5 ``checksum`` and sha512
``os_hash_value`` (unless
``--no-checksums``; ``--digests`` gives them, computed once by the
caller), checked as glanceclient checks them (``tests.glance_data``).
With ``--glance-url`` the image (``<glance id>`` there) comes through the
driver's real Glance path instead: nova's glance.API and glanceclient over
HTTP from that URL (``tests.glance_http``).

It prints one JSON line: bytes streamed, seconds, CPU seconds of this
process (all its threads), the Docker image ID, the
process's peak RSS (``VmHWM``) before and after the load and its RSS just
before it, in KiB; the load's memory growth is ``hwm_after - rss_before``.
"""

import os
import time

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

import argparse  # noqa: E402
import json  # noqa: E402

from tests import glance_data  # noqa: E402
from tests import glance_http  # noqa: E402
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

    def download(self, context, image_id, data=None, trusted_certs=None):
        self.downloads += 1
        for chunk in rechunk(self.big.chunks(), GLANCE_CHUNK):
            data.write(chunk)


class FileGlance(object):
    """A tarball file served as Glance serves it, with Glance's checksum
    fields ``checksums`` (``glance_http.digests`` of the file when None;
    ``{}`` for none).
    """

    def __init__(self, path, checksums=None):
        self.path = path
        if checksums is None:
            checksums = glance_http.digests(path=path)
        self.meta = dict(checksums, size=os.path.getsize(path))
        self.downloads = 0

    def get(self, context, image_id):
        return dict(self.meta, id=image_id)

    def download(self, context, image_id, data=None, trusted_certs=None):
        self.downloads += 1
        with open(self.path, 'rb') as f:
            glance_data.write_checked(
                data, iter(lambda: f.read(GLANCE_CHUNK), b''), self.meta)


def _over_http(glance_url):
    """The driver's own image source and a user context, for Glance at
    ``glance_url``.
    """
    import nova.conf
    from nova import context as nova_context
    from nova.image import glance as nova_glance

    nova.conf.CONF.set_override('api_servers', [glance_url], group='glance')
    nova.conf.CONF.set_override('num_retries', 0, group='glance')
    return nova_glance.API(), nova_context.RequestContext(
        'bench', 'bench', auth_token='bench', is_admin=False)


def main(url, glance_id, source, checksums=None, glance_url=None):
    """``source``: a size in bytes (generated image) or a tarball path;
    ``checksums``: Glance's checksum fields for the file (computed when
    None, ``{}`` to leave them out and tell their cost from the rest);
    ``glance_url``: load through nova's Glance API and glanceclient from
    there.
    """
    import nova.conf

    from novadocker.virt.docker import client as docker_client
    from novadocker.virt.docker.image import glance as image_glance
    from novadocker.virt.docker.image import store as image_store

    nova.conf.CONF([], project='nova', default_config_files=[])
    context = None
    if glance_url:
        glance, context = _over_http(glance_url)
        total, expected = os.path.getsize(source), None
    elif source.isdigit():
        big = image_tarballs.BigImage(test_images.busybox_rootfs(),
                                      int(source), seed=glance_id.encode())
        glance, total = GeneratedGlance(glance_id, big), big.total
        expected = big.image_id
    else:
        glance = FileGlance(source, checksums)
        total, expected = glance.meta['size'], None
    store = image_store.ImageStore(docker_client.DockerClient(url),
                                   image_glance.GlanceImages(glance))
    before = vm_hwm_kib()
    rss_before = vm_rss_kib()
    cpu = time.process_time()
    start = time.monotonic()
    ref = store.load(context, glance_id)
    seconds = time.monotonic() - start
    cpu = time.process_time() - cpu
    print(json.dumps({'bytes': total, 'seconds': seconds, 'ref': ref,
                      'cpu_s': cpu,
                      'image_id': store._client.inspect_image(ref)['Id'],
                      'expected_id': expected,
                      'hwm_before_kib': before,
                      'rss_before_kib': rss_before,
                      'hwm_after_kib': vm_hwm_kib()}))


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('url')
    parser.add_argument('glance_id')
    parser.add_argument('source')
    parser.add_argument('--no-checksums', action='store_true')
    parser.add_argument('--digests', type=json.loads,
                        help="Glance's checksum fields as JSON")
    parser.add_argument('--glance-url')
    return parser.parse_args()


if __name__ == '__main__':
    args = parse_args()
    main(args.url, args.glance_id, args.source,
         checksums={} if args.no_checksums else args.digests,
         glance_url=args.glance_url)
