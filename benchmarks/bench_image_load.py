#!/usr/bin/env python3
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

"""Glance-to-Docker image load next to raw ``docker load`` of the same file.

For each size (default 100 MiB and 1 GiB) it writes one generated image
tarball (busybox plus a layer holding one big file, as ``docker save``
lays it out) to a temporary file, then, in alternating order for ``-n``
rounds (default 2):

* raw: ``docker load -i <file>`` (the CLI when it is installed, else the
  SDK's ``load_image`` streaming the open file);
* driver: in a fresh process, ``ImageStore.load()`` with the file served as
  Glance serves it (64 KiB chunks, md5 ``checksum`` and sha512
  ``os_hash_value`` checked), streamed through the tar checks and
  rewriting into ``docker load``, then tagged ``nova-image:<id>``.

The side "via HTTP" is the driver's real path end to end: nova's
``glance.API`` and glanceclient download the file from a Glance v2 API
served over HTTP on this host (``tests.glance_http``, which sends it with
``sendfile``), with Glance's checksums. Its ratio counts for the target
too.

A further side, "w/o sum", is the driver's load with Glance's checksums left
out of the image's metadata, to tell the cost of checking them (sha512 of
every byte, on a thread of its own) from the rest of the path. The column
"sha512 s" is hashlib's sha512 of the same file alone, in the same 64 KiB
pieces: the check must end before Docker may see the end of the tarball, so
no driver load can be quicker than that plus Docker's own unpacking.

The column "bound" is the best ratio any load that checks sha512 first can
reach here: raw's time with its receiving part (measured by sending the
file with ``sendfile`` in one ``docker load`` request and timing until its
last byte is sent) replaced by the sha512 time.

Each load starts after ``sync``, so no load pays for the previous one's
writeback.

The image is removed after each load so every round does the full work.
It prints the best seconds and MiB/s of each side, the driver/raw
throughput ratio (target >= 0.90) and the loading process's peak RSS
growth during the load (VmHWM after minus before; target <= 64 MiB). Exit
status 1 when a target is missed.

Usage::

    DOCKER_HOST=unix:///tmp/nd/docker.sock \\
        python benchmarks/bench_image_load.py [-n 2] [--sizes 100,1024]
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import docker  # noqa: E402

from tests import glance_http  # noqa: E402
from tests import image_tarballs  # noqa: E402
from tests import images as test_images  # noqa: E402

MIB = 1024 * 1024
RATIO_TARGET = 0.90
RSS_TARGET_MIB = 64
SIDES = ('raw', 'driver', 'nosum', 'http')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', type=int, default=2, help='rounds (2)')
    parser.add_argument('--sizes', default='100,1024',
                        help='big file sizes in MiB (100,1024)')
    return parser.parse_args()


def write_tarball(path, size):
    big = image_tarballs.BigImage(test_images.busybox_rootfs(), size,
                                  seed=uuid.uuid4().bytes)
    with open(path, 'wb') as f:
        for chunk in big.chunks():
            f.write(chunk)
    return big


def sha512_seconds(path):
    start = time.monotonic()
    hasher = hashlib.sha512()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(64 * 1024), b''):
            hasher.update(chunk)
    return time.monotonic() - start


def raw_receive_seconds(api, url, path, big):
    """How long raw Docker takes to receive the tarball: one ``docker
    load`` request whose body goes with ``sendfile``, timed until its last
    byte is sent (Docker unpacks only after that); the load then finishes
    untimed. None when Docker is not on a unix socket.
    """
    if not url.startswith('unix://'):
        return None
    size = os.path.getsize(path)
    head = ('POST /v%s/images/load?quiet=1 HTTP/1.1\r\nHost: docker\r\n'
            'Content-Type: application/x-tar\r\nContent-Length: %d\r\n'
            'Connection: close\r\n\r\n' % (api.api_version, size))
    with socket.socket(socket.AF_UNIX) as sock, open(path, 'rb') as f:
        sock.connect(url[len('unix://'):])
        os.sync()
        start = time.monotonic()
        sock.sendall(head.encode())
        sock.sendfile(f)
        seconds = time.monotonic() - start
        while sock.recv(64 * 1024):
            pass
    remove(api, 'example/big:latest')
    remove(api, big.image_id)
    return seconds


def remove(api, ref):
    try:
        api.remove_image(ref)
    except docker.errors.NotFound:
        pass


def raw_load(api, url, path, big):
    cli = shutil.which('docker')
    os.sync()
    start = time.monotonic()
    if cli:
        env = dict(os.environ, DOCKER_HOST=url)
        subprocess.run([cli, 'load', '-q', '-i', path], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    else:
        with open(path, 'rb') as f:
            list(api.load_image(f))
    seconds = time.monotonic() - start
    if api.inspect_image(big.image_id)['Id'] != big.image_id:
        raise RuntimeError('raw load gave the wrong image')
    remove(api, 'example/big:latest')
    remove(api, big.image_id)
    return seconds


def driver_load(api, url, path, big, options=(), glance_id=None):
    glance_id = glance_id or str(uuid.uuid4())
    os.sync()
    out = subprocess.run(
        [sys.executable, '-m', 'tests.image_load_child', url, glance_id,
         path] + list(options), cwd=ROOT, check=True, capture_output=True,
        timeout=900)
    result = json.loads(out.stdout.decode().strip().splitlines()[-1])
    if result['image_id'] != big.image_id:
        raise RuntimeError('driver loaded %s, expected %s'
                           % (result['image_id'], big.image_id))
    remove(api, result['ref'])
    remove(api, big.image_id)
    growth = (result['hwm_after_kib'] - result['rss_before_kib']) / 1024
    return result['seconds'], growth


def http_load(api, url, path, big, glance, sums):
    image_id = glance.add(path=path, **sums)
    try:
        return driver_load(api, url, path, big,
                           ['--glance-url', glance.url], glance_id=image_id)
    finally:
        glance.images.pop(image_id)


def bench(api, url, size_mib, rounds, workdir, glance):
    path = os.path.join(workdir, 'image-%d.tar' % size_mib)
    big = write_tarball(path, size_mib * MIB)
    sums = glance_http.digests(path=path)
    remove(api, big.image_id)
    times = {side: [] for side in SIDES}
    growth, hashing, receive = [], [], []
    for i in range(rounds):
        for side in SIDES if i % 2 == 0 else reversed(SIDES):
            if side == 'raw':
                times[side].append(raw_load(api, url, path, big))
                continue
            if side == 'http':
                seconds, mib = http_load(api, url, path, big, glance, sums)
            else:
                seconds, mib = driver_load(
                    api, url, path, big,
                    ['--no-checksums'] if side == 'nosum' else
                    ['--digests', json.dumps(sums)])
            times[side].append(seconds)
            growth.append(mib)
        hashing.append(sha512_seconds(path))
        receive.append(raw_receive_seconds(api, url, path, big))
    os.unlink(path)
    best = {side: min(t) for side, t in times.items()}
    total = big.total / MIB
    return {'size_mib': total, 'raw_s': best['raw'],
            'driver_s': best['driver'], 'raw_mibs': total / best['raw'],
            'driver_mibs': total / best['driver'],
            'ratio': best['raw'] / best['driver'],
            'http_ratio': best['raw'] / best['http'],
            'nosum_ratio': best['raw'] / best['nosum'],
            'rss_growth_mib': max(growth), 'sha512_s': min(hashing),
            'bound': _bound(best['raw'], receive, min(hashing))}


def _bound(raw, receive, sha512):
    """The best ratio a load that checks sha512 before Docker sees the
    tarball's end can have: raw's receiving replaced by the hash.
    """
    if None in receive:
        return None
    return raw / (raw - min(receive) + sha512)


def main():
    args = parse_args()
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    api = docker.APIClient(base_url=url, version='auto')
    workdir = tempfile.mkdtemp(prefix='bench-image-')
    glance = glance_http.FakeGlanceAPI().start()
    results = []
    try:
        for size in [int(s) for s in args.sizes.split(',')]:
            results.append(bench(api, url, size, args.n, workdir, glance))
    finally:
        glance.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print('%-10s %10s %10s %10s %10s %8s %9s %14s %14s %9s %7s' % (
        'tarball', 'raw s', 'raw MiB/s', 'driver s', 'drv MiB/s', 'ratio',
        'via HTTP', 'RSS growth', 'ratio w/o sum', 'sha512 s', 'bound'))
    ok = True
    for r in results:
        print('%7.0f MiB %10.2f %10.1f %10.2f %10.1f %7.2fx %8.2fx %10.1f MiB '
              '%13.2fx %9.2f %7s' % (
                  r['size_mib'], r['raw_s'], r['raw_mibs'], r['driver_s'],
                  r['driver_mibs'], r['ratio'], r['http_ratio'],
                  r['rss_growth_mib'], r['nosum_ratio'], r['sha512_s'],
                  'n/a' if r['bound'] is None else '%.2fx' % r['bound']))
        ok &= min(r['ratio'], r['http_ratio']) >= RATIO_TARGET
        ok &= r['rss_growth_mib'] <= RSS_TARGET_MIB
    print('targets: throughput ratio >= %.2f, RSS growth <= %d MiB: %s' % (
        RATIO_TARGET, RSS_TARGET_MIB, 'met' if ok else 'MISSED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
