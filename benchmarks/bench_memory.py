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

"""Host memory per server with one Neutron port, next to a raw container.

Run as root with ovs-vswitchd up (userspace datapath), a Docker engine at
$DOCKER_HOST that this host runs (the benchmark reads its processes), and
the hold program built (novadocker-build-hold):

    DOCKER_HOST=unix:///tmp/nd/docker.sock \\
        python benchmarks/bench_memory.py [-n 10]

``-n`` raw containers (busybox ``sleep``, network mode ``none``) are
started, measured and removed; then ``-n`` servers with one OVS port each
are spawned through the driver and measured. Memory is the proportional
set size (PSS, as ``smem`` counts it, from ``/proc/<pid>/smaps_rollup``)
of the engine (dockerd, containerd), every containerd shim of that
engine, the containers' processes, and this process (the driver, as in
nova-compute) with its children; and, beside it, the sum of the
containers' own cgroups (``memory.current``, kernel memory included).
Each figure is the growth over the same measurement before, divided by
``-n``.

Target: a server with one port costs at most a raw container's PSS +
2 MiB. The exit status is 1 when it costs more.
"""

import argparse
import os
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

TARGET_MIB = 2.0
SETTLE = 3.0
MIB = 1024 * 1024


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().split(b'\0')
    except OSError:
        return []


def _parents():
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                found[int(entry)] = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return found


def _descendants(roots, parents):
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def engine_processes(socket_path):
    """dockerd serving ``socket_path``, its containerd, the shims of its
    containerd, the containers' processes; and this process with its
    children (the privsep daemons).
    """
    parents = _parents()
    dockerd = [pid for pid in parents
               if socket_path.encode() in b' '.join(_cmdline(pid)) and
               os.path.basename(_cmdline(pid)[0]) == b'dockerd']
    if len(dockerd) != 1:
        raise SystemExit('no single dockerd serves %s: %s'
                         % (socket_path, dockerd))
    args = _cmdline(dockerd[0])
    exec_root = args[args.index(b'--exec-root') + 1]
    roots = {dockerd[0], os.getpid()}
    roots |= {pid for pid in parents
              if exec_root in b' '.join(_cmdline(pid))}
    return _descendants(roots, parents)


def pss(pids):
    total = 0
    for pid in pids:
        try:
            with open('/proc/%d/smaps_rollup' % pid) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:     # gone meanwhile
            pass
    return total


def cgroup_memory(api, names):
    """The sum of the containers' cgroups' memory (cgroup v2 or v1)."""
    total = 0
    for name in names:
        pid = api.inspect_container(name)['State']['Pid']
        with open('/proc/%d/cgroup' % pid) as f:
            lines = f.read().splitlines()
        for line in lines:
            _id, controllers, path = line.split(':', 2)
            candidates = []
            if controllers == '':
                candidates.append('/sys/fs/cgroup%s/memory.current' % path)
            elif 'memory' in controllers.split(','):
                candidates.append('/sys/fs/cgroup/memory%s/'
                                  'memory.usage_in_bytes' % path)
            for candidate in candidates:
                if os.path.exists(candidate):
                    with open(candidate) as f:
                        total += int(f.read())
    return total


def measure(api, socket_path, names):
    time.sleep(SETTLE)
    return pss(engine_processes(socket_path)), cgroup_memory(api, names)


def raw_containers(api, image, count):
    names = ['ndmem-%s' % uuid.uuid4().hex[:8] for _ in range(count)]
    for name in names:
        api.create_container(image, ['sleep', '3600'], name=name,
                             host_config=api.create_host_config(
                                 network_mode='none'))
        api.start(name)
    return names


def servers(driver, image, bridge, count):
    booted = []
    for index in range(count):
        inst = support.instance('mem%d' % index)
        vifs = [support.vif(bridge, 10 + index % 200)]
        driver.spawn(None, inst, support.image_meta(image), [], None, {},
                     vifs)
        booted.append((inst, vifs))
    return booted


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-n', type=int, default=10,
                        help='servers and raw containers (default 10)')
    args = parser.parse_args()
    cfg.CONF([], project='nova')
    url = os.environ['DOCKER_HOST']
    socket_path = url.split('://', 1)[1]
    api = docker.APIClient(base_url=url, version='auto')
    image = test_images.ensure_busybox(api)
    with tempfile.TemporaryDirectory() as tmp, support.ovs_bridge() as br:
        support.configure('ndmem-%s' % uuid.uuid4().hex[:6], tmp)
        driver = support.new_driver()
        driver.init_host(cfg.CONF.host)
        # Warm up both paths (privsep daemons, os-vif, page cache).
        for inst, vifs in servers(driver, image, br, 1):
            driver.destroy(None, inst, vifs)
        for name in raw_containers(api, image, 1):
            api.remove_container(name, force=True)

        before_pss, _cg = measure(api, socket_path, [])
        names = raw_containers(api, image, args.n)
        raw_pss, raw_cg = measure(api, socket_path, names)
        for name in names:
            api.remove_container(name, force=True)

        base_pss, _cg = measure(api, socket_path, [])
        booted = servers(driver, image, br, args.n)
        try:
            drv_pss, drv_cg = measure(
                api, socket_path, ['nova-%s' % i.uuid for i, _v in booted])
        finally:
            for inst, vifs in booted:
                driver.destroy(None, inst, vifs)
    raw = (raw_pss - before_pss) / args.n / MIB
    drv = (drv_pss - base_pss) / args.n / MIB
    print('%d each; PSS of engine + shims + containers + driver process' %
          args.n)
    print('raw container (network none):      %6.2f MiB PSS, cgroup '
          '%6.2f MiB' % (raw, raw_cg / args.n / MIB))
    print('server with 1 port (driver):       %6.2f MiB PSS, cgroup '
          '%6.2f MiB' % (drv, drv_cg / args.n / MIB))
    met = drv - raw <= TARGET_MIB
    print('per server: %+.2f MiB next to raw (target <= +%.0f MiB): %s'
          % (drv - raw, TARGET_MIB, 'met' if met else 'NOT met'))
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
