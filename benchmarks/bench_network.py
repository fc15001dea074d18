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

"""Spawn time with 0, 1 and 4 Neutron ports, next to raw Docker.

Run as root with ovs-vswitchd up (userspace datapath) and a Docker engine
at $DOCKER_HOST, with the hold program built (novadocker-build-hold):

    DOCKER_HOST=unix:///tmp/nd/docker.sock python benchmarks/bench_network.py

Prints the median spawn time of the driver for each port count, raw
Docker's ``create + start`` of the same image with ``network_mode=none``
in the same run, what the first port adds, and where a spawn with one
port spends its time (Docker calls, each privileged step, os-vif, the
release of the held entrypoint). Target: the first port adds at most
60 ms to raw create+start; the exit status is 1 when it adds more.
"""

import collections
import functools
import os
import statistics
import sys
import tempfile
import time
import uuid

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

import docker  # noqa: E402
from oslo_config import cfg  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from novadocker.privsep import linux_net  # noqa: E402
from novadocker.virt.docker import client as docker_client  # noqa: E402
from novadocker.virt.docker.network import hold  # noqa: E402
from novadocker.virt.docker.network import vifs as host_vifs  # noqa: E402
from novadocker.virt.docker.network import wiring  # noqa: E402
from tests import images as test_images  # noqa: E402
from tests.integration import network_support as support  # noqa: E402

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '7'))
TARGET_MS = 60
# What a spawn with one port spends its time on: (label, owner, name).
STEPS = [
    ('docker create', docker_client.DockerClient, 'create_container'),
    ('docker start', docker_client.DockerClient, 'start'),
    ('docker inspect (container)', docker_client.DockerClient,
     'inspect_container'),
    ('docker inspect (image)', docker_client.DockerClient, 'inspect_image'),
    ('privsep netns link', linux_net, 'set_netns_link'),
    ('privsep veth', linux_net, 'create_veth'),
    ('os-vif plug (OVS)', host_vifs, '_plug_os_vif'),
    ('privsep addresses', linux_net, 'set_addresses'),
    ('privsep routes', linux_net, 'set_routes'),
    ('privsep loopback up', linux_net, 'set_loopback_up'),
    ('release of the entrypoint', hold, 'release'),
]
_spent = collections.defaultdict(float)


def _timed(label, func):
    @functools.wraps(func)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            _spent[label] += time.perf_counter() - start
    return timed


def _instrument():
    for label, owner, name in STEPS:
        setattr(owner, name, _timed(label, getattr(owner, name)))
    # Modules that imported the steps' modules see the timed functions;
    # the hold module is looked up through wiring's reference.
    assert wiring.hold is hold


def _raw_docker(api, image):
    name = 'ndbench-%s' % uuid.uuid4().hex[:8]
    start = time.perf_counter()
    api.create_container(image, ['sleep', '3600'], name=name,
                         host_config=api.create_host_config(
                             network_mode='none'))
    api.start(name)
    elapsed = time.perf_counter() - start
    api.remove_container(name, force=True)
    return elapsed


def _spawn(driver, image, bridge, nvifs, index):
    inst = support.instance('bench%d' % index)
    vifs = [support.vif(bridge, 10 + (index * 4 + n) % 200, net=n % 2)
            for n in range(nvifs)]
    meta = support.image_meta(image)
    _spent.clear()
    start = time.perf_counter()
    driver.spawn(None, inst, meta, [], None, {}, vifs)
    elapsed = time.perf_counter() - start
    steps = dict(_spent)
    driver.destroy(None, inst, vifs)
    return elapsed, steps


def main():
    cfg.CONF([], project='nova')
    api = docker.APIClient(base_url=os.environ['DOCKER_HOST'],
                           version='auto')
    image = test_images.ensure_busybox(api)
    _instrument()
    with tempfile.TemporaryDirectory() as tmp, support.ovs_bridge() as br:
        support.configure('ndbench-%s' % uuid.uuid4().hex[:6], tmp)
        driver = support.new_driver()
        driver.init_host(cfg.CONF.host)
        # Warm up: privsep daemon, os-vif, page cache.
        _spawn(driver, image, br, 1, 0)
        _raw_docker(api, image)
        results = {n: [] for n in (0, 1, 4)}
        steps = collections.defaultdict(list)
        raw = []
        for i in range(ROUNDS):
            raw.append(_raw_docker(api, image))
            for n in results:
                elapsed, spent = _spawn(driver, image, br, n, i + 1)
                results[n].append(elapsed)
                if n == 1:
                    for label, _owner, _name in STEPS:
                        steps[label].append(spent.get(label, 0.0))
                    steps['total'].append(elapsed)
    raw_ms = statistics.median(raw) * 1000
    med = {n: statistics.median(t) * 1000 for n, t in results.items()}
    print('rounds: %d (median)' % ROUNDS)
    print('raw docker create+start, network none: %7.1f ms' % raw_ms)
    for n in sorted(med):
        print('driver spawn, %d port(s):             %7.1f ms  (%+.1f ms)'
              % (n, med[n], med[n] - raw_ms))
    print('added per port, 4 ports vs none:       %7.1f ms'
          % ((med[4] - med[0]) / 4))
    print('added per extra port (4 vs 1):         %7.1f ms'
          % ((med[4] - med[1]) / 3))
    print()
    print('spawn with 1 port, where the time goes (median of each):')
    accounted = 0.0
    for label, _owner, _name in STEPS:
        ms = statistics.median(steps[label]) * 1000
        accounted += ms
        print('  %-30s %7.1f ms' % (label, ms))
    total = statistics.median(steps['total']) * 1000
    print('  %-30s %7.1f ms' % ('the rest (driver, files)',
                                total - accounted))
    added = med[1] - raw_ms
    met = added <= TARGET_MS
    print()
    print('first port: %+.1f ms next to raw create+start (target <= +%d '
          'ms): %s' % (added, TARGET_MS, 'met' if met else 'NOT met'))
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
