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

"""One periodic pass of nova-compute over N containers: its cost in Docker
API calls and time, at 50, 200 and 500 containers.

A pass is what ``update_available_resource`` asks of the driver
(get_available_resource + update_provider_tree) plus what
``_sync_power_states`` asks (get_info for every instance, on 5 threads as
nova does).  Next to it: raw Docker doing the same listing (info, version,
one filtered list), and the driver without its state cache (one inspect
per instance), in the same run.  Target: a pass at 500 costs <= 2x a pass
at 50 in Docker API calls (it costs the same: 6).  Its time still grows
with N, as Docker's own listing does (the engine walks every container).

Usage:
    DOCKER_HOST=unix:///tmp/nd/docker.sock \
        python benchmarks/bench_periodic.py
Creates busybox containers labelled for a throw-away host name and removes
them at the end.
"""

from concurrent import futures
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
from nova import monkey_patch  # noqa: E402
monkey_patch.patch()

import docker  # noqa: E402
from nova.compute import provider_tree  # noqa: E402
import nova.conf  # noqa: E402
from nova import objects  # noqa: E402
from nova.virt import fake  # noqa: E402

from novadocker.virt.docker import driver as docker_driver  # noqa: E402
from novadocker.virt.docker import labels  # noqa: E402
from novadocker.virt.docker import translator  # noqa: E402
from tests import images as test_images  # noqa: E402

SIZES = (50, 200, 500)
RUNNING_EVERY = 10      # every 10th container runs, the rest are created
STOPPED_EVERY = 7       # and every 7th has exited


class Counter(object):
    def __init__(self, session):
        self.calls = 0
        session.hooks['response'].append(self._count)

    def _count(self, response, *args, **kwargs):
        self.calls += 1


def make_containers(api, image, host, start, end):
    uuids = []
    for i in range(start, end):
        inst_uuid = str(uuid.uuid4())
        owned = labels.owner_labels(host)
        owned[labels.LABEL_UUID] = inst_uuid
        owned[labels.LABEL_NAME] = 'instance-%08x' % i
        cid = api.create_container(
            image, ['sleep', '3600'] if i % STOPPED_EVERY else ['true'],
            name=translator.container_name(inst_uuid), labels=owned)['Id']
        if i % RUNNING_EVERY == 0 or i % STOPPED_EVERY == 0:
            api.start(cid)
        uuids.append(inst_uuid)
    return uuids


def one_pass(drv, host, instances, use_cache):
    drv._states.invalidate()
    drv.get_available_resource(host)
    tree = provider_tree.ProviderTree()
    tree.new_root(host, str(uuid.uuid4()))
    drv.update_provider_tree(tree, host)
    with futures.ThreadPoolExecutor(5) as pool:
        states = list(pool.map(
            lambda i: drv.get_info(i, use_cache=use_cache).state,
            instances))
    return states


def timed(fn, counter):
    before = counter.calls
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, counter.calls - before, result


def main():
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    conf = nova.conf.CONF
    conf([], default_config_files=[])
    objects.register_all()
    host = 'bench-%s' % uuid.uuid4().hex[:8]
    conf.set_override('host', host)
    conf.set_override('host_url', url, group='docker')
    conf.set_override('watch_events', False, group='docker')

    raw = docker.APIClient(base_url=url, version='auto')
    raw_counter = Counter(raw)
    image = test_images.ensure_busybox(raw)
    drv = docker_driver.DockerDriver(fake.FakeVirtAPI())
    counter = Counter(drv._client._api)
    flt = {'label': labels.label_filter(labels.owner_labels(host))}

    uuids = []
    results = {}
    try:
        print('%5s | %-30s | %-30s | %-22s' % (
            'N', 'driver pass (cache)', 'driver pass (no cache)',
            'raw docker listing'))
        for n in SIZES:
            uuids += make_containers(raw, image, host, len(uuids), n)
            instances = [objects.Instance(uuid=u, vm_state='active',
                                          task_state=None) for u in uuids]
            one_pass(drv, host, instances, True)         # warm up
            t, calls, _ = timed(
                lambda: one_pass(drv, host, instances, True), counter)
            tn, calls_n, _ = timed(
                lambda: one_pass(drv, host, instances, False), counter)
            tr, calls_r, _ = timed(
                lambda: (raw.info(), raw.version(),
                         raw.containers(all=True, filters=flt)),
                raw_counter)
            results[n] = (t, calls, tr)
            print('%5d | %8.3f s %6d API calls | %8.3f s %6d API calls | '
                  '%7.3f s %4d API calls'
                  % (n, t, calls, tn, calls_n, tr, calls_r))
        big, small = results[SIZES[-1]], results[SIZES[0]]
        calls_ratio = big[1] / small[1]
        print('pass at %d / pass at %d: %.2fx the API calls (target <= 2), '
              '%.2fx the time; raw Docker\'s listing alone: %.2fx the time'
              % (SIZES[-1], SIZES[0], calls_ratio, big[0] / small[0],
                 big[2] / small[2]))
    finally:
        for c in raw.containers(all=True, filters=flt):
            raw.remove_container(c['Id'], force=True)
    return 0 if calls_ratio <= 2 else 1


if __name__ == '__main__':
    sys.exit(main())
