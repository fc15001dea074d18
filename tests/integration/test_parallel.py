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

"""Parallel spawns and destroys, and churn, at CI size, on the real engine
(benchmarks/bench_parallel.py runs the full sizes and prints figures).

Spawns and destroys run at once on native threads; afterwards nothing of
them is left (containers, files and mounts under instances_path), and a
churn of spawn/destroy cycles leaves the process with no more open file
descriptors or threads than it had.
"""

import concurrent.futures
import os
import threading

from novadocker.virt.docker import labels
from tests.integration import network_support as support

PARALLEL = 5
CYCLES = 20
ALIVE = 3


def _at_once(fn, items):
    with concurrent.futures.ThreadPoolExecutor(len(items)) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()


def _left(api, host, instances_path):
    found = ['container %s' % c['Names'][0] for c in api.containers(
        all=True, filters={'label': labels.label_filter(
            labels.owner_labels(host))})]
    for top, dirs, files in os.walk(instances_path):
        found += [os.path.join(top, n) for n in dirs + files]
    with open('/proc/self/mounts') as f:
        found += [line.split()[1] for line in f
                  if line.split()[1].startswith(instances_path + '/')]
    return found


def test_parallel_spawns_and_destroys_then_churn(env, docker_api,
                                                 busybox_image, tmp_path):
    driver = support.new_driver()
    meta = support.image_meta(busybox_image)
    host = support.CONF.host

    def spawn(inst):
        driver.spawn(None, inst, meta, [], None, {}, [])

    def destroy(inst):
        driver.destroy(None, inst, [])

    instances = [support.instance('par%d' % i) for i in range(PARALLEL)]
    try:
        _at_once(spawn, instances)
        running = [docker_api.inspect_container('nova-%s' % i.uuid)[
            'State']['Running'] for i in instances]
        assert running == [True] * PARALLEL
        _at_once(destroy, instances)
        assert _left(docker_api, host, str(tmp_path)) == []

        alive = [support.instance('churn') for _ in range(ALIVE)]
        for inst in alive:
            spawn(inst)
        fds = len(os.listdir('/proc/self/fd'))
        threads = threading.active_count()
        for _ in range(CYCLES):
            destroy(alive.pop(0))
            alive.append(support.instance('churn'))
            spawn(alive[-1])
        assert len(os.listdir('/proc/self/fd')) <= fds
        assert threading.active_count() <= threads
        for inst in alive:
            destroy(inst)
        assert _left(docker_api, host, str(tmp_path)) == []
    finally:
        # What a failed test left (never hides a failure).
        for c in docker_api.containers(all=True, filters={
                'label': labels.label_filter(labels.owner_labels(host))}):
            docker_api.remove_container(c['Id'], force=True)
