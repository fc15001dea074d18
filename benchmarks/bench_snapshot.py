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

"""Snapshot throughput next to raw ``docker commit`` + ``docker save``.

For each size (default 100 MiB and 1 GiB) it makes one stopped busybox
container, labelled and named as the driver's container of an instance,
that wrote that many bytes of random data to its root file system. Then,
alternating for ``-n`` rounds (default 3), each after ``sync``:

* raw: ``docker commit`` of the container, then ``docker save`` of that
  image to ``/dev/null`` (the CLI);
* driver: in a fresh process, ``snapshot.take()``, what
  ``DockerDriver.snapshot()`` runs: ``docker commit`` as
  ``nova-image:<id>``, ``docker save`` streamed through nova's
  ``glance.API().update()`` and glanceclient into a Glance v2 API served
  over HTTP by this process (``tests.glance_http``; it only counts the
  bytes, as a Glance on another host would cost this host nothing).

Each round removes the image it made. It prints the best seconds of each
side (and of its commit alone), the spread (slowest/best) of each, the
driver/raw throughput ratio of the best (target >= 0.90), and the driver
process's peak RSS growth during the snapshot (VmHWM after minus VmRSS
before; target <= 64 MiB), and the CPU seconds (user + system) of the
docker CLI (raw) and of the driver's process: on a busy machine the wall
times say little, the CPU the driver spends says what it adds. Exit
status 1 when a target is missed. Run as root::

    DOCKER_HOST=unix:///tmp/nd/docker.sock \\
        python benchmarks/bench_snapshot.py [-n 3] [--sizes 100,1024]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import docker  # noqa: E402

from novadocker.virt.docker import labels  # noqa: E402
from novadocker.virt.docker import translator  # noqa: E402
from tests import glance_http  # noqa: E402
from tests import images as test_images  # noqa: E402

RATIO_TARGET = 0.90
RSS_TARGET_MIB = 64
HOST = 'bench-snapshot'
MIB = 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--rounds', type=int, default=3)
    parser.add_argument('--sizes', default='100,1024',
                        help='MiB written, comma separated (100,1024)')
    parser.add_argument('--child', nargs=5,
                        metavar=('DOCKER', 'GLANCE', 'UUID', 'IMAGE', 'WARM'),
                        help=argparse.SUPPRESS)
    return parser.parse_args()


def _status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError('no %s in /proc/self/status' % field)


def child(url, glance_url, instance_uuid, image_id, warm_id):
    """The driver's side, in a process of its own: prints JSON.

    An upload to ``warm_id`` first does what a long-running nova-compute
    has done before (imports, glanceclient's schema, connections).
    """
    import nova.conf
    from nova import context as nova_context
    from nova.image import glance as nova_glance
    from nova import objects

    from novadocker.virt.docker import client as docker_client
    from novadocker.virt.docker import containers as docker_containers
    from novadocker.virt.docker.image import glance as image_glance
    from novadocker.virt.docker.image import store as image_store
    from novadocker.virt.docker import snapshot
    from novadocker.virt.docker import streams

    nova.conf.CONF([], project='nova', default_config_files=[])
    nova.conf.CONF.set_override('api_servers', [glance_url], group='glance')
    nova.conf.CONF.set_override('num_retries', 0, group='glance')
    objects.register_all()
    context = nova_context.RequestContext('bench', 'bench',
                                          auth_token='bench')
    client = docker_client.DockerClient(url, timeout=600)
    glance = image_glance.GlanceImages(nova_glance.API())
    images = image_store.ImageStore(client, glance)
    containers = docker_containers.Containers(client, HOST)
    instance = objects.Instance(uuid=instance_uuid)
    client.version()
    glance.upload(context, warm_id, snapshot.image_metadata({'name': 'warm'}),
                  streams.IterReader([b'warm-up']))
    phases = {}
    containers.commit = _timed(phases, 'commit', containers.commit)
    before = _status_kib('VmRSS')
    cpu = _cpu_seconds()
    start = time.monotonic()
    snapshot.take(context, instance, image_id, lambda **kwargs: None,
                  containers, images, glance)
    seconds = time.monotonic() - start
    print(json.dumps({'seconds': seconds, 'commit': phases['commit'],
                      'cpu': _cpu_seconds() - cpu,
                      'rss_mib': (_status_kib('VmHWM') - before) / 1024}))


def _cpu_seconds(who=resource.RUSAGE_SELF):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _timed(phases, name, call):
    def timed(*args, **kwargs):
        start = time.monotonic()
        try:
            return call(*args, **kwargs)
        finally:
            phases[name] = time.monotonic() - start
    return timed


def docker_cli(url, *args, **kwargs):
    kwargs.setdefault('stdout', subprocess.DEVNULL)
    return subprocess.run(['docker', '-H', url] + list(args), check=True,
                          stderr=subprocess.PIPE, **kwargs)


def raw(url, api, glance, container_id, instance_uuid):
    ref = 'bench-raw:%s' % uuid.uuid4().hex[:8]
    os.sync()
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    docker_cli(url, 'commit', container_id, ref)
    committed = time.monotonic()
    docker_cli(url, 'save', ref)
    seconds = time.monotonic() - start
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    api.remove_image(ref)
    return {'seconds': seconds, 'commit': committed - start, 'cpu': cpu}


def driver(url, api, glance, container_id, instance_uuid):
    image_id, warm_id = [
        glance.add(None, name='bench-snapshot', status='queued', size=None)
        for _ in range(2)]
    os.sync()
    try:
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--child', url,
             glance.url, instance_uuid, image_id, warm_id],
            capture_output=True, text=True, timeout=1800)
        if out.returncode:
            raise RuntimeError('driver side failed: %s' % out.stderr[-3000:])
        result = json.loads(out.stdout.strip().splitlines()[-1])
        meta = glance.images[image_id][0]
        if meta['status'] != 'active' or not meta['size']:
            raise RuntimeError('Glance got no snapshot: %s' % meta)
        result['bytes'] = meta['size']
        return result
    finally:
        glance.images.pop(image_id)
        glance.images.pop(warm_id)
        try:
            api.remove_image('nova-image:%s' % image_id)
        except docker.errors.NotFound:
            pass


def writer(api, size_mib):
    """A stopped container of the driver's that wrote ``size_mib`` MiB."""
    instance_uuid = str(uuid.uuid4())
    wanted = labels.owner_labels(HOST)
    wanted[labels.LABEL_UUID] = instance_uuid
    cid = api.create_container(
        test_images.BUSYBOX_IMAGE,
        name=translator.container_name(instance_uuid), labels=wanted,
        command=['sh', '-c', 'head -c %d /dev/urandom > /data.bin'
                 % (size_mib * MIB)])['Id']
    api.start(cid)
    if api.wait(cid, timeout=900)['StatusCode']:
        raise RuntimeError('writing %d MiB failed' % size_mib)
    return cid, instance_uuid


def bench(url, api, glance, size_mib, rounds):
    cid, instance_uuid = writer(api, size_mib)
    results = {raw: [], driver: []}
    try:
        for i in range(rounds):
            for side in (raw, driver) if i % 2 == 0 else (driver, raw):
                results[side].append(side(url, api, glance, cid,
                                          instance_uuid))
    finally:
        api.remove_container(cid, force=True)
    best = {side: min(r, key=lambda x: x['seconds'])
            for side, r in results.items()}
    times = {side: [x['seconds'] for x in r] for side, r in results.items()}
    best_raw, best_driver = best[raw]['seconds'], best[driver]['seconds']
    return {'size': size_mib, 'raw': best_raw, 'driver': best_driver,
            'raw_commit': best[raw]['commit'],
            'driver_commit': best[driver]['commit'],
            'raw_spread': max(times[raw]) / best_raw,
            'driver_spread': max(times[driver]) / best_driver,
            'ratio': best_raw / best_driver,
            'raw_cpu': min(r['cpu'] for r in results[raw]),
            'driver_cpu': min(r['cpu'] for r in results[driver]),
            'mibs': best[driver]['bytes'] / MIB / best_driver,
            'rss': max(r['rss_mib'] for r in results[driver])}


def main():
    args = parse_args()
    if args.child:
        return child(*args.child)
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    api = docker.APIClient(base_url=url, version='auto', timeout=900)
    test_images.ensure_busybox(api)
    glance = glance_http.FakeGlanceAPI(keep_uploads=False).start()
    try:
        results = [bench(url, api, glance, int(size), args.rounds)
                   for size in args.sizes.split(',')]
    finally:
        glance.stop()
    met = True
    print('%6s %7s %8s %7s %9s %8s %7s %10s %7s %8s %8s %8s' % (
        'MiB', 'raw s', '(commit)', 'spread', 'driver s', '(commit)',
        'spread', 'drv MiB/s', 'ratio', 'RSS MiB', 'raw CPU', 'drv CPU'))
    for r in results:
        ok = r['ratio'] >= RATIO_TARGET and r['rss'] <= RSS_TARGET_MIB
        met = met and ok
        print('%6d %7.2f %8.2f %6.2fx %9.2f %8.2f %6.2fx %10.1f %6.2fx '
              '%8.1f %8.2f %8.2f%s' % (
                  r['size'], r['raw'], r['raw_commit'], r['raw_spread'],
                  r['driver'], r['driver_commit'], r['driver_spread'],
                  r['mibs'], r['ratio'], r['rss'], r['raw_cpu'],
                  r['driver_cpu'], '' if ok else '  MISSED'))
    print('targets: throughput >= %.2f x raw commit + save, RSS growth '
          '<= %d MiB: %s' % (RATIO_TARGET, RSS_TARGET_MIB,
                             'met' if met else 'MISSED'))
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
