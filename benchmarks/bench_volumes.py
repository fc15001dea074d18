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

"""Volume attach/detach and ephemeral disks next to raw mount + umount.

One running container (busybox, no network) and one loop device holding
an ext4 filesystem (a stand-in for a Cinder volume, connected through
os-brick's ``local`` connector). For each of N rounds (default 20), in
alternating order:

* driver: ``attach_volume()`` (connect, probe, mount, propagation check),
  then ``detach_volume()`` (syncfs, unmount, disconnect);
* raw: ``mount -o nosuid,nodev`` of the same loop device on a directory
  below the same shared directory, then ``umount``.

Then ``spawn()`` with and without a 1 GiB flavor ephemeral disk, in
alternating order; the ephemeral disk's own step inside spawn (sparse
file, mkfs.ext4, loop device, mount) is timed next to raw ``truncate`` +
``mkfs.ext4`` + ``mount -o loop`` of the same size.

It prints medians and the driver/raw ratios. Targets: attach within 6 x
raw mount, detach within 6 x raw umount (the driver runs blkid and asks
Docker for the container's pid, a few milliseconds each), and the
ephemeral disk's step within 1.5 x the raw truncate + mkfs + mount. The
exit status is 1 when a target is missed.

Needs ``$DOCKER_HOST`` and root (privileged steps run in-process, as in
the functional tests). Usage::

    DOCKER_HOST=unix:///tmp/nd/docker.sock \\
        python benchmarks/bench_volumes.py [-n 20]
"""

import argparse
import logging
import os
import statistics
import subprocess
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
from nova.virt import fake as fake_virt  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

CONF = nova.conf.CONF
TARGETS = {'attach': 6.0, 'detach': 6.0, 'ephemeral': 1.5}
GIB = 1024 ** 3


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
    CONF.set_override('watch_events', False, group='docker')
    import novadocker.privsep
    import os_brick.privileged
    novadocker.privsep.sys_admin_pctxt.client_mode = False
    os_brick.privileged.default.client_mode = False
    from novadocker.virt.docker import driver
    return driver.DockerDriver(fake_virt.FakeVirtAPI())


def run(*args):
    subprocess.run(args, check=True, capture_output=True)


def timed(times, fn, *args, **kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    times.append(time.perf_counter() - start)


def report(name, driver_times, raw_times, target):
    d = statistics.median(driver_times)
    r = statistics.median(raw_times)
    ratio = d / r
    ok = ratio <= target
    print('%-10s driver median %8.1f ms   raw median %8.1f ms   ratio %.2f  '
          '%s' % (name, d * 1e3, r * 1e3, ratio,
                  'OK' if ok else 'ABOVE TARGET %.1f' % target))
    return ok


class Bench(object):
    def __init__(self, drv, api, image, workdir, rounds):
        from tests.integration import volume_support
        self.support = volume_support
        self.drv, self.api, self.image = drv, api, image
        self.workdir, self.rounds = workdir, rounds
        self.ctxt = nova_context.get_admin_context()
        self.times = {k: [] for k in ('attach', 'detach', 'mount', 'umount',
                                      'spawn', 'spawn_eph', 'eph',
                                      'raw_eph')}

    def instance(self, ephemeral_gb=0):
        from tests.integration import network_support
        inst = network_support.instance('bench')
        inst.image_ref = uuidutils.generate_uuid()
        inst.flavor.ephemeral_gb = ephemeral_gb
        return inst

    def spawn(self, key, ephemeral_gb):
        from tests.integration import network_support
        inst = self.instance(ephemeral_gb)
        bdi = self.support.block_device_info((), ephemeral_gb)
        timed(self.times[key], self.drv.spawn, None, inst,
              network_support.image_meta(self.image, 'sleep 100000'), [],
              None, {}, [], block_device_info=bdi)
        return inst, bdi

    def volumes(self, device):
        inst, _bdi = self.spawn('spawn', 0)
        info = self.support.connection_info(device)
        raw_dir = os.path.join(self.drv._disks._volumes.host_dir(inst), 'raw')
        os.mkdir(raw_dir)

        def driver_round():
            timed(self.times['attach'], self.drv.attach_volume, None, info,
                  inst, '/dev/vdb')
            timed(self.times['detach'], self.drv.detach_volume, None, info,
                  inst, '/dev/vdb')

        def raw_round():
            timed(self.times['mount'], run, 'mount', '-o', 'nosuid,nodev',
                  device, raw_dir)
            timed(self.times['umount'], run, 'umount', raw_dir)

        self._alternate(driver_round, raw_round)
        os.rmdir(raw_dir)
        self.drv.destroy(None, inst, [])

    def ephemeral(self):
        mnt = os.path.join(self.workdir, 'raw-eph')
        os.mkdir(mnt)

        store = self.drv._disks._ephemeral
        create = store.create

        def timed_create(*args, **kwargs):
            start = time.perf_counter()
            try:
                return create(*args, **kwargs)
            finally:
                self.times['eph'].append(time.perf_counter() - start)
        store.create = timed_create

        def driver_round():
            for key, size in (('spawn', 0), ('spawn_eph', 1)):
                inst, bdi = self.spawn(key, size)
                self.drv.destroy(None, inst, [], bdi)

        def raw_round():
            image = os.path.join(self.workdir, 'raw.eph')

            def make():
                with open(image, 'wb') as f:
                    f.truncate(GIB)
                run('mkfs.ext4', '-q', '-F', '-E',
                    'nodiscard,lazy_itable_init=1,lazy_journal_init=1',
                    image)
                run('mount', '-o', 'loop,nosuid,nodev', image, mnt)
            timed(self.times['raw_eph'], make)
            run('umount', mnt)
            os.unlink(image)

        self.times['spawn'].clear()
        self._alternate(driver_round, raw_round)

    def _alternate(self, a, b):
        a()
        b()   # warm-up
        for times in self.times.values():
            times.clear()
        for i in range(self.rounds):
            for fn in ((a, b) if i % 2 == 0 else (b, a)):
                fn()


def main():
    args = parse_args()
    logging.disable(logging.INFO)
    url = os.environ.get('DOCKER_HOST')
    if not url:
        sys.exit('DOCKER_HOST is not set')
    api = docker.APIClient(base_url=url, version='auto')
    from tests.functional import base
    image = base.ensure_busybox(api)
    host = 'bench-%s' % uuidutils.generate_uuid()[:8]
    with tempfile.TemporaryDirectory() as workdir:
        drv = setup(url, host, os.path.join(workdir, 'instances'))
        bench = Bench(drv, api, image, workdir, args.n)
        try:
            from tests.integration import volume_support
            with volume_support.loop_device(workdir, 256) as device:
                run('mkfs.ext4', '-q', device)
                bench.volumes(device)
                vol = {k: list(v) for k, v in bench.times.items()}
            bench.ephemeral()
        finally:
            base.remove_containers(api, host)
    t = bench.times
    print('Docker %s, %d rounds, ext4 volume on a loop device, 1 GiB '
          'ephemeral disk (figures from a shared machine are noisy)'
          % (api.version()['Version'], args.n))
    ok = report('attach', vol['attach'], vol['mount'], TARGETS['attach'])
    ok = report('detach', vol['detach'], vol['umount'],
                TARGETS['detach']) and ok
    print('spawn      without ephemeral %8.1f ms   with 1 GiB %8.1f ms '
          '(medians)' % (statistics.median(t['spawn']) * 1e3,
                         statistics.median(t['spawn_eph']) * 1e3))
    # The disk's own step inside spawn (file, mkfs, loop, mount), timed
    # directly: the difference of two spawns is mostly noise.
    ok = report('ephemeral', [e for e in t['eph'] if e > 0.001],
                t['raw_eph'], TARGETS['ephemeral']) and ok
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
