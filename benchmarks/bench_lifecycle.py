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

"""Driver spawn and destroy next to raw Docker doing the same work.

For each of N rounds (default 20), in alternating order:

* driver: ``DockerDriver.spawn()`` of a Nova instance (a fake instance
  object with a 128 MiB, 1 vCPU flavor, no network), then ``destroy()``;
* raw: the Docker SDK's ``create_container`` + ``start`` of the same image
  with the same limits and labels, then ``remove_container(force=True)``
  (stop + remove).

It prints the median (and p90) of each step and the driver/raw ratio; the
target is a ratio of at most 1.10 for spawn and for destroy.

Needs ``$DOCKER_HOST`` and root (the driver's privileged steps run
in-process, as in the functional tests, instead of through a privsep
daemon).  Usage::

    DOCKER_HOST=unix:///tmp/nd/docker.sock \
        python benchmarks/bench_lifecycle.py [-n 20]
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

import docker  # noqa: E402
import nova.conf  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402
from nova.tests.unit import fake_instance  # noqa: E402
from nova.virt import fake as fake_virt  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402
import requests  # noqa: E402

CONF = nova.conf.CONF
COMMAND = 'sleep 100000'
TARGET = 1.10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', type=int, default=20, help='rounds (20)')
    return parser.parse_args()


def setup(url, host, instances_path):
    objects.register_all()
    CONF([], project='nova', default_config_files=[])
    CONF.set_override('host', host)
    CONF.set_override('instances_path', instances_path)
    from novadocker import conf as docker_conf
    docker_conf.register_opts(CONF)
    CONF.set_override('host_url', url, group='docker')
    import novadocker.privsep
    novadocker.privsep.sys_admin_pctxt.client_mode = False
    from novadocker.virt.docker import driver
    return driver.DockerDriver(fake_virt.FakeVirtAPI())


def fake_instance_for(ctxt, flavor):
    instance = fake_instance.fake_instance_obj(
        ctxt, uuid=uuidutils.generate_uuid(), flavor=flavor,
        hostname='bench', display_name='bench')
    # fake_instance_obj leaves these out; Nova always loads them.
    instance.metadata = {}
    instance.system_metadata = {}
    return instance


def raw_create_args(api, image, host, pids_limit):
    """What the driver asks Docker for, built with the raw SDK."""
    from novadocker.virt.docker import labels
    host_config = api.create_host_config(
        mem_limit=128 * 1024 * 1024, memswap_limit=128 * 1024 * 1024,
        nano_cpus=10 ** 9, cpu_shares=1024, pids_limit=pids_limit,
        network_mode='none', privileged=False,
        security_opt=['no-new-privileges:true'])
    return dict(image=image, command=COMMAND.split(), hostname='bench',
                labels=labels.owner_labels(host), stdin_open=True,
                detach=True, host_config=host_config)


class RequestCounter(object):
    """Counts the HTTP requests made to the Docker engine (both clients
    use requests), to show where the driver's extra time goes.
    """

    def __init__(self):
        self.count = 0
        self._send = requests.Session.send
        counter = self

        def send(session, request, **kwargs):
            counter.count += 1
            return counter._send(session, request, **kwargs)
        requests.Session.send = send


def timed(counter, calls, fn, *args, **kwargs):
    before = counter.count
    start = time.perf_counter()
    fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    calls.append(counter.count - before)
    return elapsed


def summary(name, driver_times, raw_times, driver_calls, raw_calls):
    d, r = statistics.median(driver_times), statistics.median(raw_times)
    p90 = lambda ts: sorted(ts)[int(len(ts) * 0.9) - 1]  # noqa: E731
    ratio = d / r
    print('%-8s driver median %7.1f ms (p90 %7.1f, %d API calls)   '
          'raw median %7.1f ms (p90 %7.1f, %d API calls)   ratio %.3f  %s'
          % (name, d * 1e3, p90(driver_times) * 1e3,
             statistics.median(driver_calls), r * 1e3,
             p90(raw_times) * 1e3, statistics.median(raw_calls), ratio,
             'OK' if ratio <= TARGET else 'ABOVE TARGET %.2f' % TARGET))
    return ratio <= TARGET


def main():
    args = parse_args()
    logging.disable(logging.INFO)  # the driver's per-spawn INFO lines
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    api = docker.APIClient(base_url=url, version='auto')
    from tests.functional import base
    image = base.ensure_busybox(api)
    host = 'bench-%s' % uuidutils.generate_uuid()[:8]
    with tempfile.TemporaryDirectory() as instances_path:
        drv = setup(url, host, instances_path)
        ctxt = nova_context.get_admin_context()
        flavor = objects.Flavor(id=1, name='bench', memory_mb=128, vcpus=1,
                                root_gb=1, ephemeral_gb=0, flavorid='1',
                                swap=0, rxtx_factor=1.0, vcpu_weight=1,
                                disabled=False, is_public=True,
                                extra_specs={}, projects=[])
        image_meta = objects.ImageMeta.from_dict({
            'id': uuidutils.generate_uuid(), 'name': image,
            'container_format': 'docker', 'disk_format': 'raw',
            'properties': {'os_command_line': COMMAND}})
        raw_args = raw_create_args(api, image, host, CONF.docker.pids_limit)
        keys = ('d_spawn', 'd_destroy', 'r_spawn', 'r_destroy')
        times = {k: [] for k in keys}
        calls = {k: [] for k in keys}
        counter = RequestCounter()

        def measure(key, fn, *args, **kwargs):
            times[key].append(timed(counter, calls[key], fn, *args,
                                    **kwargs))

        def driver_round():
            instance = fake_instance_for(ctxt, flavor)
            measure('d_spawn', drv.spawn, ctxt, instance, image_meta, [],
                    None, {}, [])
            measure('d_destroy', drv.destroy, ctxt, instance, [])

        def raw_round():
            name = 'bench-raw-%s' % uuidutils.generate_uuid()

            def create_start():
                api.start(api.create_container(name=name, **raw_args)['Id'])
            measure('r_spawn', create_start)
            measure('r_destroy', api.remove_container, name, force=True,
                    v=True)

        try:
            driver_round()  # warm-up: connections, imports, caches
            raw_round()
            for k in keys:
                times[k].clear()
                calls[k].clear()
            for i in range(args.n):
                rounds = (driver_round, raw_round)
                for fn in (rounds if i % 2 == 0 else reversed(rounds)):
                    fn()
        finally:
            base.remove_containers(api, host)
        print('Docker %s, %d rounds, image %s, flavor 1 vCPU / 128 MiB'
              % (api.version()['Version'], args.n, image))
        ok = summary('spawn', times['d_spawn'], times['r_spawn'],
                     calls['d_spawn'], calls['r_spawn'])
        ok = summary('destroy', times['d_destroy'], times['r_destroy'],
                     calls['d_destroy'], calls['r_destroy']) and ok
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
