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
  Glance serves it (64 KiB chunks, md5 ``checksum`` and the
  ``os_hash_value`` checked), streamed through the tar checks and
  rewriting into ``docker load``, then tagged ``nova-image:<id>``.

The side "via HTTP" is the driver's real path end to end: nova's
``glance.API`` and glanceclient download the file from a Glance v2 API
served over HTTP on this host (``tests.glance_http``, which sends it with
``sendfile``), with Glance's checksums. Its ratio counts for the target
too.

Both driver sides run twice: with ``os_hash_algo`` sha512 (Glance's
default ``hashing_algorithm``) and sha256 (which many clouds configure).

A further side, "w/o sum", is the driver's load with Glance's checksums left
out of the image's metadata, to tell the cost of checking them (the hash of
every byte, on a thread of its own) from the rest of the path. The column
"hash s" is hashlib's hash of the same file alone, in 1 MiB pieces (as
glanceclient reads them): the check must end before Docker may see the end
of the tarball, so no driver load can be quicker than that plus Docker's own
unpacking.

The column "bound" is the best ratio any load that checks the hash first can
reach here: raw's time with its receiving part (measured by sending the
file with ``sendfile`` in one ``docker load`` request and timing until its
last byte is sent) replaced by the hash's time.

Each load starts after ``sync``, so no load pays for the previous one's
writeback.

The image is removed after each load so every round does the full work.
It prints, per size and hash algorithm, the best seconds of raw and of
the driver, the driver/raw throughput ratios of the best times, the spread
of the driver's times (slowest/best), the bound, and the loading process's
peak RSS growth during the load (VmHWM after minus before). Targets: with
sha256 both driver sides >= 0.90 x raw; with sha512 both driver sides
>= 0.95 x the bound; RSS growth <= 64 MiB. Exit status 1 when a target is
missed.

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
RSS_TARGET_MIB = 64
ALGOS = ('sha512', 'sha256')
# Per algorithm: the target, and whether it is of raw's ratio or of the
# bound's.
TARGETS = {'sha256': (0.90, 'raw'), 'sha512': (0.95, 'bound')}
SIDES = ('raw', 'nosum') + tuple('%s-%s' % (kind, algo) for algo in ALGOS
                                 for kind in ('driver', 'http'))


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


def hash_seconds(path, algo):
    start = time.monotonic()
    hasher = hashlib.new(algo)
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(MIB), b''):
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
    return result['seconds'], growth, result['cpu_s']


def http_load(api, url, path, big, glance, sums):
    image_id = glance.add(path=path, **sums)
    try:
        return driver_load(api, url, path, big,
                           ['--glance-url', glance.url], glance_id=image_id)
    finally:
        glance.images.pop(image_id)


def load_side(api, url, path, big, glance, side, sums):
    """One driver load of ``side`` (nosum, driver-<algo>, http-<algo>):
    (seconds, RSS growth in MiB, CPU seconds of the loading process).
    """
    if side == 'nosum':
        return driver_load(api, url, path, big, ['--no-checksums'])
    kind, algo = side.split('-')
    if kind == 'http':
        return http_load(api, url, path, big, glance, sums[algo])
    return driver_load(api, url, path, big,
                       ['--digests', json.dumps(sums[algo])])


def bench(api, url, size_mib, rounds, workdir, glance):
    path = os.path.join(workdir, 'image-%d.tar' % size_mib)
    big = write_tarball(path, size_mib * MIB)
    sums = {algo: glance_http.digests(path=path, algo=algo)
            for algo in ALGOS}
    remove(api, big.image_id)
    times = {side: [] for side in SIDES}
    cpu = {side: [] for side in SIDES}
    growth, receive = [], []
    hashing = {algo: [] for algo in ALGOS}
    for i in range(rounds):
        for side in SIDES if i % 2 == 0 else reversed(SIDES):
            if side == 'raw':
                times[side].append(raw_load(api, url, path, big))
                continue
            seconds, mib, cpu_s = load_side(api, url, path, big, glance,
                                            side, sums)
            times[side].append(seconds)
            cpu[side].append(cpu_s)
            growth.append(mib)
        for algo in ALGOS:
            hashing[algo].append(hash_seconds(path, algo))
        receive.append(raw_receive_seconds(api, url, path, big))
    os.unlink(path)
    best = {side: min(t) for side, t in times.items()}
    raw = best['raw']
    rows = []
    for algo in ALGOS:
        driver, http = 'driver-' + algo, 'http-' + algo
        rows.append({
            'size_mib': big.total / MIB, 'algo': algo, 'raw_s': raw,
            'raw_spread': max(times['raw']) / raw,
            'driver_s': best[driver], 'ratio': raw / best[driver],
            'spread': max(times[driver]) / best[driver],
            'http_ratio': raw / best[http],
            'http_spread': max(times[http]) / best[http],
            'nosum_ratio': raw / best['nosum'],
            'rss_growth_mib': max(growth),
            'cpu_s': min(cpu[driver]), 'http_cpu_s': min(cpu[http]),
            'nosum_cpu_s': min(cpu['nosum']),
            'hash_s': min(hashing[algo]),
            'bound': _bound(raw, receive, min(hashing[algo]))})
    return rows


def _bound(raw, receive, hashing):
    """The best ratio a load that checks the hash before Docker sees the
    tarball's end can have: raw's receiving replaced by the hash.
    """
    if None in receive:
        return None
    return raw / (raw - min(receive) + hashing)


def met(row):
    """Whether ``row`` meets its algorithm's targets."""
    target, of = TARGETS[row['algo']]
    worst = min(row['ratio'], row['http_ratio'])
    if of == 'bound':
        # Without a bound (Docker not on a unix socket): of raw.
        worst /= row['bound'] or 1.0
    return worst >= target and row['rss_growth_mib'] <= RSS_TARGET_MIB


def main():
    args = parse_args()
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    api = docker.APIClient(base_url=url, version='auto')
    workdir = tempfile.mkdtemp(prefix='bench-image-')
    glance = glance_http.FakeGlanceAPI().start()
    rows = []
    try:
        for size in [int(s) for s in args.sizes.split(',')]:
            rows.extend(bench(api, url, size, args.n, workdir, glance))
    finally:
        glance.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print('%-8s %-6s %6s %6s %8s %6s %6s %8s %6s %7s %6s %6s %8s %8s %7s'
          % ('tarball', 'algo', 'raw s', 'spread', 'driver s', 'ratio',
             'spread', 'via HTTP', 'spread', 'w/o sum', 'hash s', 'bound',
             'of bound', 'RSS MiB', 'target'))
    ok = True
    for r in rows:
        bound = r['bound']
        target, of = TARGETS[r['algo']]
        print('%4.0f MiB %-6s %6.2f %5.2fx %8.2f %5.2fx %5.2fx %7.2fx '
              '%5.2fx %6.2fx %6.2f %6s %8s %8.1f %7s' % (
                  r['size_mib'], r['algo'], r['raw_s'], r['raw_spread'],
                  r['driver_s'], r['ratio'], r['spread'], r['http_ratio'],
                  r['http_spread'], r['nosum_ratio'], r['hash_s'],
                  'n/a' if bound is None else '%.2fx' % bound,
                  'n/a' if bound is None else '%.2f' % (
                      min(r['ratio'], r['http_ratio']) / bound),
                  r['rss_growth_mib'], 'met' if met(r) else 'MISSED'))
        ok &= met(r)
    print('CPU seconds of the loading process (best): ' + ', '.join(
        '%.0f MiB %s driver %.2f via HTTP %.2f (w/o sum %.2f)' % (
            r['size_mib'], r['algo'], r['cpu_s'], r['http_cpu_s'],
            r['nosum_cpu_s']) for r in rows))
    print('targets: sha256 driver and via HTTP >= %.2f x raw; sha512 both '
          '>= %.2f x the bound; RSS growth <= %d MiB: %s' % (
              TARGETS['sha256'][0], TARGETS['sha512'][0], RSS_TARGET_MIB,
              'met' if ok else 'MISSED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
