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


"""Load and density through nova's REST API, next to raw Docker.

Nova's real API, conductor, scheduler and one nova-compute running the
Docker driver, in this process on native threads (tests/functional/base.py,
tests/functional/load.py), with nova's default max_concurrent_builds (10);
ports on a new OVS bridge of the run's own. Modes:

* ``load``: ``-n`` (50) servers with a port each posted at once, until
  all are ACTIVE; then all deleted at once, until all are gone. Raw
  Docker: ``-n`` create+start at once, then ``-n`` removes at once.
* ``churn``: ``-c`` (500) cycles, each deleting the oldest of ``-a`` (20)
  servers while one more boots (with a port). This process's RSS, open
  descriptors and threads after ``-w`` warm-up cycles (nova's thread pools
  grow to their size first) and at the end. Targets: RSS growth at most
  20 MiB, no more descriptors, no more threads.
* ``spawn``: ``-n`` (20) servers without ports posted at once, until all
  are ACTIVE, next to raw Docker's ``-n`` create+start at once and to
  the same boots on a second compute running nova's no-op
  ``nova.virt.fake.FakeDriver``: nova's own time, which no driver can go
  below (in ABBA order, as nova's time grows from batch to batch).
  Target: what the driver adds to nova's own time is at most 1.2x raw
  Docker's.
* ``density``: ``-n`` (1000) servers, every other one with a port, posted
  by ``-t`` (20) client threads in batches of ``-b`` (100): boot
  throughput next to raw Docker's create+start of ``-n`` containers on
  ``--raw-threads`` (10, nova's max_concurrent_builds) threads; the
  compute's periodic pass (every periodic task once) at 10 servers and
  at ``-n``, its time and Docker API calls (target: no more calls at
  ``-n`` than at 10); RSS; all stopped and all started through the API;
  all deleted. When a boot fails, says at which count and why;
  ``--budget`` stops booting after that many seconds. Raw Docker's
  throughput is taken on ``--raw-n`` (200) containers.

Every mode ends with nothing left of its servers: containers (sandboxes
included), files and mounts under instances_path, netns links, host
links, OVS ports, child processes. The exit status is 1 when a target is
missed or something is left. RSS, descriptors and threads are this
process's: nova-compute shares it with the API, conductor and scheduler.

Needs ``$DOCKER_HOST``, root and Open vSwitch::

    DOCKER_HOST=unix:///tmp/nd/docker.sock \\
        python benchmarks/bench_api_load.py load [-n 50]
"""

import argparse
import os
import sys
import time
import tracemalloc
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
from nova import monkey_patch  # noqa: E402
monkey_patch.patch()

import nova.conf  # noqa: E402
from nova import objects  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

from novadocker import conf as docker_conf  # noqa: E402
from novadocker.virt.docker import labels  # noqa: E402
from tests.functional import base  # noqa: E402
from tests.functional import load  # noqa: E402

docker_conf.register_opts(nova.conf.CONF)

MIB = 2 ** 20
RSS_GROWTH_MAX = 20 * MIB
SPAWN_RATIO_MAX = 1.2
FLOOR_HOST = 'nova-floor'
WAIT = 3600


def print_growth(before, after, top=15):
    """The Python memory that grew between two tracemalloc snapshots, by
    the package (or standard module) of the frame that allocated it.
    """
    by_package = {}
    for stat in after.compare_to(before, 'filename'):
        path = stat.traceback[0].filename
        name = path.split('site-packages/')[-1] if 'site-packages/' in path \
            else os.path.relpath(path, ROOT) if path.startswith(ROOT) \
            else os.path.basename(path)
        package = name.split('/')[0]
        by_package[package] = by_package.get(package, 0) + stat.size_diff
    print('  Python memory grown in the churn, by package (tracemalloc):')
    for package, size in sorted(by_package.items(), key=lambda kv: -kv[1])[
            :top]:
        print('    %-28s %+8.2f MiB' % (package, mib(size)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mode', choices=('load', 'churn', 'spawn',
                                         'density'))
    parser.add_argument('-n', type=int, help='servers (50, 20, 1000)')
    parser.add_argument('-c', type=int, default=500, help='churn cycles')
    parser.add_argument('-a', type=int, default=20,
                        help='servers alive during the churn')
    parser.add_argument('-w', type=int, default=50,
                        help='churn warm-up cycles')
    parser.add_argument('-t', type=int, default=20,
                        help='API client threads (density)')
    parser.add_argument('-b', type=int, default=100,
                        help='density batch')
    parser.add_argument('--raw-threads', type=int, default=10,
                        help='raw Docker threads (density)')
    parser.add_argument('--raw-n', type=int, default=200,
                        help='raw Docker containers for the density '
                             'throughput (200)')
    parser.add_argument('--floor', action='store_true',
                        help='churn: on nova\'s no-op fake driver instead '
                             '(nova\'s own growth)')
    parser.add_argument('--trace', action='store_true',
                        help='churn: where the memory that stays was '
                             'allocated, by package (tracemalloc; slow)')
    parser.add_argument('--budget', type=float, default=0,
                        help='density: stop booting batches after this '
                             'many seconds (0: no limit)')
    args = parser.parse_args(argv)
    if args.n is None:
        args.n = {'load': 50, 'spawn': 20, 'density': 1000}.get(args.mode, 0)
    return args


def mib(value):
    return value / MIB


class Raw(object):
    """Raw Docker doing what the driver asks of it for a server (busybox,
    64 MiB, no network), labelled for a host of its own.
    """

    def __init__(self, api, image):
        self.api = api
        self.host = 'bench-raw-%s' % uuidutils.generate_uuid()[:8]
        host_config = api.create_host_config(
            mem_limit=64 * MIB, memswap_limit=64 * MIB, nano_cpus=10 ** 9,
            network_mode='none', security_opt=['no-new-privileges:true'])
        self.args = dict(image=image, command=['sleep', '100000'],
                         labels=labels.owner_labels(self.host),
                         host_config=host_config)

    def create_start(self, name):
        self.api.start(self.api.create_container(name=name,
                                                 **self.args)['Id'])

    def remove(self, name):
        self.api.remove_container(name, force=True, v=True)

    def names(self, count):
        return ['bench-raw-%s' % uuidutils.generate_uuid()
                for _ in range(count)]

    def timed(self, fn, names, workers=None):
        start = time.monotonic()
        load.at_once(fn, names, workers)
        return time.monotonic() - start


class ApiLoad(load.LoadMixin, base.DockerFunctionalTestCase):
    """One benchmark run as a test case (nova's fixtures need one)."""

    ARGS = None
    #: Whether every target was met and nothing was left.
    ok = False

    def setUp(self):
        super().setUp()
        self.setup_load_ports()
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor(memory_mb=64)
        self.raw = Raw(self.docker, self.busybox)
        self.addCleanup(base.remove_containers, self.docker, self.raw.host)
        self.children = load.children()
        self.ports = []
        self.servers = []
        self.targets = []
        self.spawns = []
        self._time_driver_spawns()

    def _time_driver_spawns(self):
        """Record (start, end) of every DockerDriver.spawn: how much of a
        boot's time the driver takes.
        """
        driver = self.driver
        spawn = driver.spawn

        def timed_spawn(*args, **kwargs):
            start, cpu = time.monotonic(), time.thread_time()
            try:
                return spawn(*args, **kwargs)
            finally:
                self.spawns.append((start, time.monotonic(),
                                    time.thread_time() - cpu))

        driver.spawn = timed_spawn
        self.addCleanup(delattr, driver, 'spawn')

    def spawn_figures(self):
        """Driver spawns since the last call: count, mean seconds, the
        seconds from the first one's start to the last one's end, and the
        mean CPU seconds of this process's threads running them.
        """
        spawns, self.spawns = self.spawns, []
        if not spawns:
            return 0, 0.0, 0.0, 0.0
        return (len(spawns),
                sum(end - start for start, end, _ in spawns) / len(spawns),
                max(end for _, end, _ in spawns) -
                min(start for start, _, _ in spawns),
                sum(cpu for _, _, cpu in spawns) / len(spawns))

    def test_run(self):
        args = self.ARGS
        print('Docker %s, busybox, 1 vCPU / 64 MiB, native threads, '
              'max_concurrent_builds %d' % (
                  self.docker.version()['Version'],
                  base.test.CONF.max_concurrent_builds))
        try:
            getattr(self, '_%s' % args.mode)(args)
        finally:
            alive = [i for i in self.statuses() if i in set(self.servers)]
            if alive:
                self.delete_all(alive, WAIT, workers=args.t)
        left = self.leftovers(self.servers, self.ports, self.children)
        print('left behind: %s' % (left or 'nothing'))
        self.target('nothing left', not left)
        type(self).ok = all(met for _, met in self.targets)

    def target(self, what, met):
        self.targets.append((what, met))
        print('target %s: %s' % (what, 'met' if met else 'NOT MET'))

    # Servers

    def bodies(self, count, ported, image=None):
        """``count`` bodies of ``image`` (the run's); with ``ported``, every
        other one (starting with the first) has a port; ``'all'``: each.
        """
        bodies = []
        for i in range(count):
            port_id = None
            if ported == 'all' or (ported and i % 2 == 0):
                port_id = self.load_port(len(self.ports))
                self.ports.append(port_id)
            bodies.append(self.server_body(
                (image or self.image)['id'], self.flavor,
                'bench-%d' % (len(self.servers) + i), port_id))
        return bodies

    def timed_boot(self, bodies, workers=None, poll=None):
        start = time.monotonic()
        ids = [s['id'] for s in self.post_all(bodies, workers)]
        self.servers += ids
        self.wait_all(ids, 'ACTIVE', WAIT, poll=poll)
        return ids, time.monotonic() - start

    def timed_delete(self, ids, workers=None, poll=None):
        start = time.monotonic()
        self.delete_all(ids, WAIT, workers, poll=poll)
        return time.monotonic() - start

    # Modes

    def _load(self, args):
        self.spawn_figures()
        ids, boot = self.timed_boot(self.bodies(args.n, 'all'))
        count, mean, span, cpu = self.spawn_figures()
        delete = self.timed_delete(ids)
        names = self.raw.names(args.n)
        raw_boot = self.raw.timed(self.raw.create_start, names)
        raw_delete = self.raw.timed(self.raw.remove, names)
        print('%d servers with a port each, at once through the API:'
              % args.n)
        print('  boot   %7.2f s   raw create+start %7.2f s   ratio %.2f'
              % (boot, raw_boot, boot / raw_boot))
        print('  delete %7.2f s   raw remove       %7.2f s   ratio %.2f'
              % (delete, raw_delete, delete / raw_delete))
        print('  DockerDriver.spawn: %d calls, %.2f s each on average '
              '(%.3f CPU s), %.2f s from the first start to the last end'
              % (count, mean, cpu, span))

    def _spawn(self, args):
        names = self.raw.names(args.n)
        raw_boot = self.raw.timed(self.raw.create_start, names)
        self.raw.timed(self.raw.remove, names)
        # Nova's time grows from one batch to the next (its database keeps
        # the deleted rows), so the two sides alternate ABBA: mean times.
        floor_image = self.start_floor()
        times = {True: [], False: []}
        cpus = {True: [], False: []}
        self.spawn_figures()
        for on_floor in (True, False, False, True):
            self.use_floor(on_floor)
            cpu = time.process_time()
            ids, seconds = self.timed_boot(self.bodies(
                args.n, None, floor_image if on_floor else None))
            cpus[on_floor].append(time.process_time() - cpu)
            times[on_floor].append(seconds)
            self.timed_delete(ids)
        self.use_floor(False)
        count, mean, _span, cpu = self.spawn_figures()
        floor, boot = (sum(times[side]) / 2 for side in (True, False))
        added = boot - floor
        print('%d servers without ports at once through the API: %.2f s '
              '(%s), raw create+start %.2f s, ratio %.2f'
              % (args.n, boot, ', '.join('%.2f' % t for t in times[False]),
                 raw_boot, boot / raw_boot))
        print('  nova alone (the same boots on nova.virt.fake.FakeDriver, '
              'which does nothing; ABBA): %.2f s (%s), %.2f x raw'
              % (floor, ', '.join('%.2f' % t for t in times[True]),
                 floor / raw_boot))
        print('  the driver adds %.2f s to nova alone: %.2f x raw (target '
              '<= %.1f)' % (added, added / raw_boot, SPAWN_RATIO_MAX))
        print('  CPU of this process per batch of boots: %.2f s with the '
              'driver, %.2f s with the fake; DockerDriver.spawn: %d calls, '
              '%.2f s each on average, %.3f CPU s each'
              % (sum(cpus[False]) / 2, sum(cpus[True]) / 2, count, mean,
                 cpu))
        self.target('driver adds <= %.1fx raw' % SPAWN_RATIO_MAX,
                    added <= SPAWN_RATIO_MAX * raw_boot)

    def start_floor(self):
        """Start a second compute running nova's no-op fake driver: the
        same boots there take nova's own time, which no driver can go
        below. Its image: the run's, for the fake hypervisor type.
        """
        self.flags(compute_driver='fake.FakeDriver')
        try:
            self._start_compute(FLOOR_HOST)
        finally:
            self.flags(compute_driver=base.DRIVER)
        return self.create_docker_image(hypervisor_type='fake')

    def use_floor(self, on_floor):
        """Let the scheduler choose the fake compute only, or ours only."""
        self.set_disabled(FLOOR_HOST, not on_floor)
        self.set_disabled(self.host, on_floor)

    def set_disabled(self, host, disabled):
        service = objects.Service.get_by_compute_host(self.ctxt, host)
        service.disabled = disabled
        service.save()

    def _churn(self, args):
        image = None
        if args.floor:
            image = self.start_floor()
            self.use_floor(True)
        alive = self.timed_boot(self.bodies(args.a, 'all', image))[0]
        began = time.monotonic()
        logged = 0
        for cycle in range(args.w + args.c):
            if cycle == args.w:
                self.drop_captures()
                if args.trace:
                    tracemalloc.start()
                    traced = tracemalloc.take_snapshot()
                start = load.process()
                began = time.monotonic()
                logged = 0
            alive = self.cycle(alive, image)
            # What nova's fixtures collect is the test's, not the
            # compute's: dropped every cycle, it never piles up (a pile
            # freed only at the end leaves the allocator's high-water
            # mark in the RSS).
            logged += self.drop_captures()
        end = load.process()
        elapsed = time.monotonic() - began
        self.delete_all(alive, WAIT)
        growth = end['rss'] - start['rss']
        print('churn %d cycles (after %d warm-up), %d alive, %.1f s%s: '
              'RSS %.1f -> %.1f MiB (%+.1f), fds %d -> %d, threads %d -> %d '
              '(not in a pool: %d -> %d)' % (
                  args.c, args.w, args.a, elapsed,
                  ' on nova.virt.fake.FakeDriver' if args.floor else '',
                  mib(start['rss']),
                  mib(end['rss']), mib(growth), start['fds'], end['fds'],
                  start['threads'], end['threads'], start['other_threads'],
                  end['other_threads']))
        print('  log nova\'s fixtures captured (dropped after each '
              'cycle): %.2f MiB in all' % mib(logged))
        if args.trace:
            print_growth(traced, tracemalloc.take_snapshot())
        self.target('RSS growth <= 20 MiB', growth <= RSS_GROWTH_MAX)
        self.target('no fd growth', end['fds'] <= start['fds'])
        self.target('no thread growth', end['threads'] <= start['threads'])

    def cycle(self, alive, image=None):
        """Delete the oldest of ``alive`` while one more boots."""
        server_id = self.post_all(self.bodies(1, 'all', image))[0]['id']
        self.servers.append(server_id)
        self.api.delete_server(alive[0])
        self.wait_all([server_id], 'ACTIVE', WAIT)
        self.wait_all(alive[:1], None, WAIT)
        return alive[1:] + [server_id]

    def _density(self, args):
        names = self.raw.names(args.raw_n)
        raw_boot = self.raw.timed(self.raw.create_start, names,
                                  args.raw_threads)
        raw_delete = self.raw.timed(self.raw.remove, names, args.raw_threads)
        raw_rate = 60 * args.raw_n / raw_boot
        print('raw Docker: %d create+start on %d threads %.1f s (%.0f/min), '
              '%d removes %.1f s' % (args.raw_n, args.raw_threads, raw_boot,
                                     raw_rate, args.raw_n, raw_delete))
        first = self.timed_boot(self.bodies(10, True))[0]
        at_10 = self.periodic_pass()
        booted, boot = len(first), 0.0
        poll = 5
        began = time.monotonic()
        while booted < args.n:
            if args.budget and time.monotonic() - began > args.budget:
                print('boot stopped at %d servers: the time budget (%.0f s) '
                      'is spent' % (booted, args.budget))
                break
            count = min(args.b, args.n - booted)
            try:
                ids, took = self.timed_boot(self.bodies(count, True),
                                            args.t, poll)
            except AssertionError as e:
                print('boot stopped at %d ACTIVE servers: %s' % (
                    self.count_status('ACTIVE'), e))
                self.target('%d servers fit' % args.n, False)
                return
            booted += count
            boot += took
            self.drop_captures()
            print('  %4d servers: batch of %d in %.1f s, RSS %.1f MiB' % (
                booted, count, took, mib(load.process()['rss'])))
        rate = 60 * (booted - len(first)) / boot
        print('%d servers (every other with a port): boot %.0f/min through '
              'the API with %d client threads, raw Docker %.0f/min: %.2fx'
              % (booted, rate, args.t, raw_rate, rate / raw_rate))
        at_n = self.periodic_pass()
        print('periodic pass at 10: %.2f s, %d Docker API calls %s'
              % (at_10.seconds, sum(at_10.calls.values()),
                 dict(at_10.calls)))
        print('periodic pass at %d: %.2f s, %d Docker API calls %s'
              % (booted, at_n.seconds, sum(at_n.calls.values()),
                 dict(at_n.calls)))
        self.target('pass at %d costs no more API calls than at 10' % booted,
                    sum(at_n.calls.values()) <= sum(at_10.calls.values()))
        self.drop_captures()
        print('RSS with %d servers: %.1f MiB' % (
            booted, mib(load.process()['rss'])))
        for action, status in (('os-stop', 'SHUTOFF'),
                               ('os-start', 'ACTIVE')):
            start = time.monotonic()
            self.action_all(self.servers, action, status, WAIT, args.t,
                            poll=poll)
            print('%s of all %d through the API: %.1f s' % (
                action, booted, time.monotonic() - start))
        delete = self.timed_delete(self.servers, args.t, poll)
        print('delete of all %d through the API: %.1f s' % (booted, delete))

    def count_status(self, status):
        return len([s for s, _ in self.statuses().values() if s == status])


def main(argv=None):
    args = parse_args(argv)
    base.docker_host()
    ApiLoad.ARGS = args
    result = unittest.TextTestRunner(verbosity=1).run(ApiLoad('test_run'))
    if not result.wasSuccessful():
        return 1
    return 0 if ApiLoad.ok else 1


if __name__ == '__main__':
    sys.exit(main())
