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

"""Cold migration's layer transfer next to raw ``docker commit`` + ``docker
save | docker load`` of the same container, between two engines.

It starts two private dockerds (source and destination, as two compute
hosts have), and on the source a stopped busybox container that wrote
``--sizes`` MiB (default 100 and 1024) of random data. Then, alternating
for ``-n`` rounds (default 2):

* raw: ``docker commit`` on the source, then ``docker save`` on the source
  piped into ``docker load`` on the destination (the CLI, an OS pipe);
* driver: in a fresh process, what ``migrate_disk_and_power_off`` and
  ``finish_migration`` do with the layer: ``Migrations.send()`` (commit and
  a TLS endpoint on 127.0.0.1) and ``Migrations.receive()`` (TLS
  client, image filter, ``docker load``, tag), both sides in that process.

Each round starts after ``sync`` and removes what it made. It prints the
best seconds of each side, their ratio (target <= 1.3) and the driver
process's peak RSS growth during the transfer (VmHWM after minus VmRSS
before, both sides together; target <= 64 MiB). Exit status 1 when a
target is missed. Run as root::

    python benchmarks/bench_migration.py [-n 2] [--sizes 100,1024]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import docker  # noqa: E402

from tests import engines  # noqa: E402
from tests import images as test_images  # noqa: E402

TARGET_RATIO = 1.3
TARGET_RSS_MIB = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', '--rounds', type=int, default=2)
    parser.add_argument('--sizes', default='100,1024',
                        help='MiB written, comma separated')
    parser.add_argument('--child', nargs=3, metavar=('SRC', 'DST', 'ID'),
                        help=argparse.SUPPRESS)
    return parser.parse_args()


def _status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def child(src_url, dst_url, container_id):
    """The driver's side, in a process of its own: prints JSON."""
    from nova import objects
    from novadocker.virt.docker import client
    from novadocker.virt.docker.image import store
    from novadocker.virt.docker import migration

    objects.register_all()
    src_client = client.DockerClient(src_url, timeout=600)
    dst_client = client.DockerClient(dst_url, timeout=600)
    with tempfile.TemporaryDirectory() as instances_path:
        src = migration.Migrations(src_client, None, '127.0.0.1', 600,
                                   instances_path, None)
        dst = migration.Migrations(
            dst_client, store.ImageStore(dst_client, None), '127.0.0.1',
            600, instances_path, None)
        instance = objects.Instance(uuid=str(uuid.uuid4()))
        src_client.version()
        dst_client.version()
        before = _status_kib('VmRSS')
        start = time.monotonic()
        disk_info = src.send(instance,
                             src_client.inspect_container(container_id))
        ref = dst.receive(instance, disk_info)
        seconds = time.monotonic() - start
        # The destination's word closes the source's endpoint.
        dst.remember(instance, disk_info)
        dst.built(instance, disk_info)
        src.close(instance)
    print(json.dumps({'seconds': seconds, 'ref': ref,
                      'rss_mib': (_status_kib('VmHWM') - before) / 1024}))


def docker_cli(url, *args, **kwargs):
    return subprocess.run(['docker', '-H', url] + list(args), check=True,
                          capture_output=True, **kwargs)


def raw(src, dst, container_id):
    ref = 'bench-raw:%s' % uuid.uuid4().hex[:8]
    start = time.monotonic()
    docker_cli(src.url, 'commit', container_id, ref)
    save = subprocess.Popen(['docker', '-H', src.url, 'save', ref],
                            stdout=subprocess.PIPE)
    load = subprocess.run(['docker', '-H', dst.url, 'load'],
                          stdin=save.stdout, capture_output=True)
    save.stdout.close()
    if save.wait() or load.returncode:
        raise RuntimeError('raw save | load failed: %s' % load.stderr)
    seconds = time.monotonic() - start
    docker_cli(src.url, 'rmi', ref)
    docker_cli(dst.url, 'rmi', ref)
    return seconds


def driver(src, dst, container_id):
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--child', src.url,
         dst.url, container_id], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError('driver side failed: %s' % out.stderr[-2000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    docker_cli(dst.url, 'rmi', result['ref'])
    return result


def writer(api, size_mib):
    cid = api.create_container(
        test_images.BUSYBOX_IMAGE,
        command=['sh', '-c', 'head -c %d /dev/urandom > /data.bin'
                 % (size_mib << 20)])['Id']
    api.start(cid)
    if api.wait(cid, timeout=600)['StatusCode']:
        raise RuntimeError('writing %d MiB failed' % size_mib)
    return cid


def bench(src, dst, size_mib, rounds):
    api = docker.APIClient(base_url=src.url, version='auto', timeout=600)
    cid = writer(api, size_mib)
    raws, drivers = [], []
    try:
        for i in range(rounds):
            order = (raw, driver) if i % 2 == 0 else (driver, raw)
            for side in order:
                subprocess.run(['sync'], check=True)
                result = side(src, dst, cid)
                (raws if side is raw else drivers).append(result)
    finally:
        api.remove_container(cid, force=True)
    best_raw = min(raws)
    best = min(drivers, key=lambda r: r['seconds'])
    rss = max(r['rss_mib'] for r in drivers)
    return {'size': size_mib, 'raw': best_raw, 'driver': best['seconds'],
            'ratio': best['seconds'] / best_raw, 'rss': rss}


def main():
    args = parse_args()
    if args.child:
        return child(*args.child)
    src = engines.RestartableEngine('bsrc')
    dst = engines.RestartableEngine('bdst')
    results = []
    try:
        src.start()
        dst.start()
        test_images.ensure_busybox(docker.APIClient(base_url=src.url,
                                                    version='auto'))
        for size in [int(s) for s in args.sizes.split(',')]:
            results.append(bench(src, dst, size, args.rounds))
    finally:
        src.remove()
        dst.remove()
    met = True
    print('%8s %9s %9s %7s %9s' % ('MiB', 'raw s', 'driver s', 'ratio',
                                   'RSS MiB'))
    for r in results:
        ok = r['ratio'] <= TARGET_RATIO and r['rss'] <= TARGET_RSS_MIB
        met = met and ok
        print('%8d %9.2f %9.2f %7.2f %9.1f %s' % (
            r['size'], r['raw'], r['driver'], r['ratio'], r['rss'],
            '' if ok else ' MISSED'))
    print('target: driver <= %.1f x raw, RSS growth <= %d MiB: %s' % (
        TARGET_RATIO, TARGET_RSS_MIB, 'met' if met else 'missed'))
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
