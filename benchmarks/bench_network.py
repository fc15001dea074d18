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
at $DOCKER_HOST:

    DOCKER_HOST=unix:///tmp/nd/docker.sock python benchmarks/bench_network.py

Prints the median spawn+destroy-free spawn time of the driver for each
VIF count, the time added per VIF, and raw Docker's ``create + start`` of
the same image with ``network_mode=none`` in the same run. Target: at most
60 ms added per VIF.
"""

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
from tests import images as test_images  # noqa: E402
from tests.integration import network_support as support  # noqa: E402

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '7'))


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
    start = time.perf_counter()
    driver.spawn(None, inst, meta, [], None, {}, vifs)
    elapsed = time.perf_counter() - start
    driver.destroy(None, inst, vifs)
    return elapsed


def main():
    cfg.CONF([], project='nova')
    api = docker.APIClient(base_url=os.environ['DOCKER_HOST'],
                           version='auto')
    image = test_images.ensure_busybox(api)
    with tempfile.TemporaryDirectory() as tmp, support.ovs_bridge() as br:
        support.configure('ndbench-%s' % uuid.uuid4().hex[:6], tmp)
        driver = support.new_driver()
        # Warm up: privsep daemon, os-vif, sandbox image, page cache.
        _spawn(driver, image, br, 1, 0)
        _raw_docker(api, image)
        results = {n: [] for n in (0, 1, 4)}
        raw = []
        for i in range(ROUNDS):
            raw.append(_raw_docker(api, image))
            for n in results:
                results[n].append(_spawn(driver, image, br, n, i + 1))
    raw_ms = statistics.median(raw) * 1000
    med = {n: statistics.median(t) * 1000 for n, t in results.items()}
    print('rounds: %d (median)' % ROUNDS)
    print('raw docker create+start, network none: %7.1f ms' % raw_ms)
    for n in sorted(med):
        print('driver spawn, %d VIF(s):              %7.1f ms' % (n, med[n]))
    print('added by the 1st VIF (sandbox + wiring): %6.1f ms'
          % (med[1] - med[0]))
    print('added per VIF, 4 VIFs vs none:          %6.1f ms'
          % ((med[4] - med[0]) / 4))
    print('added per extra VIF (4 vs 1):            %6.1f ms'
          % ((med[4] - med[1]) / 3))


if __name__ == '__main__':
    main()
