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

"""Test images built locally: no registry is reachable."""

import hashlib
import io
import json
import os
import tarfile

BUSYBOX = '/bin/busybox'
BUSYBOX_IMAGE = 'novadocker-test/busybox:latest'
APPLETS = ('sh', 'sleep', 'cat', 'echo', 'ls', 'ip', 'ping', 'ping6', 'top',
           'touch', 'rm', 'mkdir', 'env', 'hostname', 'ps', 'head', 'dd',
           'yes', 'true', 'false', 'kill', 'grep', 'wc', 'id', 'uname',
           'ifconfig', 'route', 'nc', 'seq', 'md5sum', 'sha256sum', 'tail')


def busybox_rootfs(extra_files=None):
    """A rootfs tarball (bytes) holding busybox and its applet links.

    ``extra_files`` maps paths inside the image to their bytes.
    """
    if not os.path.exists(BUSYBOX):
        raise RuntimeError('%s is missing: install busybox-static' % BUSYBOX)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for d in ('bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var'):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == 'tmp' else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname='bin/busybox')
        for applet in APPLETS:
            info = tarfile.TarInfo('bin/' + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = 'busybox'
            tar.addfile(info)
        for path, data in sorted((extra_files or {}).items()):
            info = tarfile.TarInfo(path.lstrip('/'))
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def import_rootfs(api, rootfs, repository, tag='latest',
                  cmd=('/bin/sh',)):
    """``docker import`` a rootfs tarball; returns the image reference."""
    changes = ['CMD %s' % ('[%s]' % ', '.join('"%s"' % c for c in cmd)),
               'ENV PATH=/bin']
    api.import_image_from_data(rootfs, repository=repository, tag=tag,
                               changes=changes)
    return '%s:%s' % (repository, tag)


def ensure_busybox(api):
    """The shared busybox test image, imported once per engine."""
    if api.images(name=BUSYBOX_IMAGE, quiet=True):
        return BUSYBOX_IMAGE
    repository, tag = BUSYBOX_IMAGE.split(':')
    return import_rootfs(api, busybox_rootfs(), repository, tag)


def containerd_store(api):
    """Whether the engine keeps images in containerd's image store, where
    an image's ID is the digest of its manifest, not of its config.
    """
    status = dict(api.info().get('DriverStatus') or ())
    return status.get('driver-type') == 'io.containerd.snapshotter.v1'


def config_digest(api, ref):
    """The digest of the config of image ``ref``: what identifies an image
    on every engine and store (the graph-driver store's image ID).
    """
    if not containerd_store(api):
        return api.inspect_image(ref)['Id']
    with tarfile.open(fileobj=io.BytesIO(b''.join(api.get_image(ref)))) as t:
        entry = json.load(t.extractfile('manifest.json'))[0]
        config = t.extractfile(entry['Config']).read()
    return 'sha256:' + hashlib.sha256(config).hexdigest()
