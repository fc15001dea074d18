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

"""Parallel spawns and destroys, and churn, next to raw Docker.

* parallel: ``-p`` (default 50) ``DockerDriver.spawn()`` calls at once on
  native threads, then as many ``destroy()`` calls at once; raw Docker
  does ``-p`` create+start at once, then ``-p`` removes. Prints the wall
  times and their ratio.
* churn: ``-c`` (default 500) spawn/destroy cycles through the driver
  with ``-a`` (default 20) instances alive at any time. Prints this
  process's RSS, open file descriptors and threads after a warm-up and
  at the end. Target: RSS growth at most 20 MiB, no more descriptors or
  threads than at the start.

Afterwards nothing may be left: no container of the bench's host, no
file or mount under its instances_path. The exit status is 1 when a
target is missed or something is left.

This runs below Nova's API (instance objects, no ports): the driver
alone; benchmarks/bench_api_load.py does the same through Nova's REST
API with ports. Needs ``$DOCKER_HOST`` and root::

    DOCKER_HOST=unix:///tmp/nd/docker.sock \\
        python benchmarks/bench_parallel.py [-p 50] [-c 500] [-a 20]
"""

import argparse
import collections
import concurrent.futures
import logging
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_lifecycle as bl  # noqa: E402

import docker  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

RSS_GROWTH_MAX = 20 * 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-p', type=int, default=50,
                        help='parallel spawns and destroys (50)')
    parser.add_argument('-c', type=int, default=500,
                        help='churn cycles (500)')
    parser.add_argument('-a', type=int, default=20,
                        help='instances alive during the churn (20)')
    return parser.parse_args()


def process_figures():
    status = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            status[key] = value.split()
    return {'rss': int(status['VmRSS'][0]) * 1024,
            'fds': len(os.listdir('/proc/self/fd')),
            'threads': threading.active_count()}


def at_once(fn, items):
    """``fn(item)`` for every item on its own thread; the wall time."""
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(items)) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()
    return time.perf_counter() - start


def leftovers(api, host, instances_path):
    found = ['container %s' % c['Names'][0] for c in api.containers(
        all=True, filters={'label': 'org.openstack.nova.host=%s' % host})]
    for top, dirs, files in os.walk(instances_path):
        found += [os.path.join(top, n) for n in dirs + files]
    with open('/proc/self/mounts') as f:
        found += [line.split()[1] for line in f
                  if line.split()[1].startswith(instances_path + '/')]
    return found


def main():
    args = parse_args()
    logging.disable(logging.INFO)
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    api = docker.APIClient(base_url=url, version='auto', timeout=300)
    from tests.functional import base
    image = base.ensure_busybox(api)
    host = 'bench-%s' % uuidutils.generate_uuid()[:8]
    ok = True
    with tempfile.TemporaryDirectory() as instances_path:
        drv = bl.setup(url, host, instances_path)
        ctxt = nova_context.get_admin_context()
        flavor = objects.Flavor(id=1, name='bench', memory_mb=64, vcpus=1,
                                root_gb=1, ephemeral_gb=0, flavorid='1',
                                swap=0, rxtx_factor=1.0, vcpu_weight=1,
                                disabled=False, is_public=True,
                                extra_specs={}, projects=[])
        image_meta = objects.ImageMeta.from_dict({
            'id': uuidutils.generate_uuid(), 'name': image,
            'container_format': 'docker', 'disk_format': 'raw',
            'properties': {'os_command_line': bl.COMMAND}})
        raw_args = bl.raw_create_args(api, image, host, 64)

        def spawn(instance):
            drv.spawn(ctxt, instance, image_meta, [], None, {}, [])

        def destroy(instance):
            drv.destroy(ctxt, instance, [])

        def raw_spawn(name):
            api.start(api.create_container(name=name, **raw_args)['Id'])

        def raw_remove(name):
            api.remove_container(name, force=True, v=True)

        try:
            warm_up = bl.fake_instance_for(ctxt, flavor)
            spawn(warm_up)
            destroy(warm_up)
            instances = [bl.fake_instance_for(ctxt, flavor)
                         for _ in range(args.p)]
            names = ['bench-raw-%s' % uuidutils.generate_uuid()
                     for _ in range(args.p)]
            walls = collections.OrderedDict()
            walls['driver spawn'] = at_once(spawn, instances)
            walls['driver destroy'] = at_once(destroy, instances)
            walls['raw create+start'] = at_once(raw_spawn, names)
            walls['raw remove'] = at_once(raw_remove, names)
            print('Docker %s, %d at once, image %s, flavor 1 vCPU / 64 MiB'
                  % (api.version()['Version'], args.p, image))
            for what, wall in walls.items():
                print('%-18s %7.2f s' % (what, wall))
            print('ratio spawn %.2f, destroy %.2f' % (
                walls['driver spawn'] / walls['raw create+start'],
                walls['driver destroy'] / walls['raw remove']))

            alive = collections.deque()
            for _ in range(args.a):
                instance = bl.fake_instance_for(ctxt, flavor)
                spawn(instance)
                alive.append(instance)
            start = process_figures()
            began = time.perf_counter()
            for _ in range(args.c):
                destroy(alive.popleft())
                instance = bl.fake_instance_for(ctxt, flavor)
                spawn(instance)
                alive.append(instance)
            end = process_figures()
            elapsed = time.perf_counter() - began
            while alive:
                destroy(alive.popleft())
            growth = end['rss'] - start['rss']
            churn_ok = (growth <= RSS_GROWTH_MAX and
                        end['fds'] <= start['fds'] and
                        end['threads'] <= start['threads'])
            print('churn %d cycles, %d alive, %.1f s: RSS %.1f -> %.1f MiB '
                  '(%+.1f), fds %d -> %d, threads %d -> %d  %s'
                  % (args.c, args.a, elapsed, start['rss'] / 2 ** 20,
                     end['rss'] / 2 ** 20, growth / 2 ** 20, start['fds'],
                     end['fds'], start['threads'], end['threads'],
                     'OK' if churn_ok else 'ABOVE TARGET'))
            ok = ok and churn_ok
            left = leftovers(api, host, instances_path)
            print('left behind: %s' % (left or 'nothing'))
            ok = ok and not left
        finally:
            base.remove_containers(api, host)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
