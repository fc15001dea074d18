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

"""Helpers for the volume tests: loop devices standing in for Cinder
volumes (connected through os-brick's ``local`` connector), a driver
wired to the real privsep daemons, and checks of what is left behind.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import docker
import nova.conf
from nova import objects
import pytest

from novadocker.virt.docker.disks import mountinfo
from novadocker.virt.docker import driver as docker_driver
from tests import images  # noqa: F401  (the tests' image helpers)
from tests.integration import network_support

CONF = nova.conf.CONF
PRIVSEP_HELPER = os.path.join(os.path.dirname(sys.executable),
                              'privsep-helper')
MIB = 1024 * 1024


def run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


@contextlib.contextmanager
def loop_device(directory, size_mb=64, name=None):
    """A loop device over a sparse file: a stand-in for a Cinder volume."""
    path = os.path.join(directory, name or 'vol-%s' % uuid.uuid4().hex[:8])
    with open(path, 'wb') as f:
        f.truncate(size_mb * MIB)
    device = run('losetup', '--find', '--show', path).stdout.strip()
    try:
        yield device
    finally:
        run('losetup', '-d', device, check=False)
        os.unlink(path)


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.1)


def backing_file(device):
    name = os.path.basename(device)
    with open('/sys/block/%s/loop/backing_file' % name) as f:
        return f.read().strip()


def connection_info(device, volume_id=None, read_only=False):
    """What Cinder's LVM-like ``local`` export would hand Nova."""
    volume_id = volume_id or str(uuid.uuid4())
    return {'driver_volume_type': 'local', 'serial': volume_id,
            'data': {'device_path': device, 'volume_id': volume_id,
                     'access_mode': 'ro' if read_only else 'rw'}}


def first_mib(device):
    with open(device, 'rb') as f:
        return f.read(MIB)


def fs_uuid(device):
    return run('blkid', '-p', '-s', 'UUID', '-o', 'value', device).stdout


def leftovers(inst):
    """Mounts, loop devices and directories an instance's disks left on
    this host (empty: none).
    """
    top = os.path.join(CONF.instances_path, inst.uuid)
    found = ['mount %s' % m for m in mountinfo.below(top)]
    found += ['mount %s' % m.target for m in mountinfo.mounts()
              if m.target == top]
    for sub in ('volumes', 'ephemeral'):
        if os.path.exists(os.path.join(top, sub)):
            found.append('directory %s' % sub)
    return found + _loops(top)


def _loops(top, timeout=10):
    """Loop devices over files below ``top``. An autoclear loop device is
    released by the kernel shortly after its last unmount, not at once:
    wait for that.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = ['loop %s' % line for line in
                 run('losetup', '-a').stdout.splitlines() if top in line]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def force_cleanup(inst):
    top = os.path.join(CONF.instances_path, inst.uuid)
    for target in mountinfo.below(top) + [top]:
        run('umount', '-l', target, check=False)


OVERRIDES = [('host', None), ('instances_path', None),
             ('host_url', 'docker'), ('watch_events', 'docker'),
             ('stop_timeout', 'docker'), ('volume_busy_timeout', 'docker'),
             ('helper_command', 'novadocker_privileged'),
             ('helper_command', 'privsep_osbrick')]


@pytest.fixture
def vol_env(tmp_path, docker_api, busybox_image):
    CONF.set_override('host', 'ndvol-%s' % uuid.uuid4().hex[:8])
    CONF.set_override('instances_path', str(tmp_path / 'instances'))
    CONF.set_override('host_url', os.environ['DOCKER_HOST'], group='docker')
    CONF.set_override('watch_events', False, group='docker')
    CONF.set_override('stop_timeout', 1, group='docker')
    CONF.set_override('volume_busy_timeout', 1, group='docker')
    # Both privileged halves run in real privsep daemons, as on a node:
    # the driver's own and os-brick's.
    CONF.set_override('helper_command', PRIVSEP_HELPER,
                      group='novadocker_privileged')
    CONF.set_override('helper_command', PRIVSEP_HELPER,
                      group='privsep_osbrick')
    yield tmp_path
    for name, group in OVERRIDES:
        CONF.clear_override(name, group=group)


class Servers(object):
    """Instances booted through the driver by one test."""

    def __init__(self, api, image):
        self.api = api
        self.image = image
        self.driver = docker_driver.DockerDriver(network_support.virtapi())
        self.booted = []

    def boot(self, name='vol', volumes=(), ephemeral_gb=0, power_on=True):
        inst = network_support.instance(name)
        inst.image_ref = str(uuid.uuid4())
        inst.flavor.ephemeral_gb = ephemeral_gb
        self.booted.append(inst)
        bdi = block_device_info(volumes, ephemeral_gb)
        self.driver.spawn(None, inst, network_support.image_meta(self.image),
                          [], None, {}, [], block_device_info=bdi,
                          power_on=power_on)
        return inst

    def container(self, inst):
        return 'nova-%s' % inst.uuid

    def run(self, inst, *cmd):
        return network_support.docker_exec(self.api, self.container(inst),
                                           *cmd)

    def ok(self, inst, *cmd):
        code, output = self.run(inst, *cmd)
        assert code == 0, (cmd, output)
        return output

    def mounted(self, inst, path):
        """Whether ``path`` is a mount point inside the container."""
        return path in [line.split()[1] for line in self.ok(
            inst, 'cat', '/proc/mounts').splitlines()]


def block_device_info(volumes=(), ephemeral_gb=0):
    """``volumes``: ``(connection_info, device name)`` pairs."""
    mapping = [{'connection_info': info, 'mount_device': device,
                'boot_index': None, 'delete_on_termination': False}
               for info, device in volumes]
    ephemerals = []
    if ephemeral_gb:
        ephemerals.append({'num': 0, 'size': ephemeral_gb,
                           'device_name': '/dev/vdz', 'guest_format': None,
                           'disk_bus': None})
    return {'block_device_mapping': mapping, 'ephemerals': ephemerals,
            'root_device_name': '/dev/vda', 'swap': None}


@pytest.fixture
def servers(vol_env, docker_api, busybox_image):
    s = Servers(docker_api, busybox_image)
    yield s
    for inst in s.booted:
        try:
            s.driver.destroy(None, inst, [])
        finally:
            force_cleanup(inst)


objects.register_all()


class PrivateEngine(object):
    """A dockerd of this test's own, which the test may restart."""

    def __init__(self, base):
        self.base = base
        self.url = 'unix://%s/docker.sock' % base
        self.proc = None

    def start(self):
        log = open(os.path.join(self.base, 'dockerd.log'), 'a')
        self.proc = subprocess.Popen(
            ['dockerd', '--data-root', os.path.join(self.base, 'data'),
             '--exec-root', os.path.join(self.base, 'exec'),
             '--pidfile', os.path.join(self.base, 'pid'), '-H', self.url,
             '--bridge=none', '--iptables=false', '--ip-masq=false'],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        found = []
        wait_until(lambda: self._answers(found), 60)
        return found[0]

    def _answers(self, found):
        assert self.proc.poll() is None, 'dockerd exited'
        try:
            api = docker.APIClient(base_url=self.url, version='auto')
            api.ping()
        except Exception:
            # Not listening yet, whatever the client makes of that.
            return False
        found.append(api)
        return True

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_engine(vol_env):
    base = tempfile.mkdtemp(prefix='ndvol', dir='/tmp')
    engine = PrivateEngine(base)
    try:
        yield engine
    finally:
        if engine.proc and engine.proc.poll() is None:
            engine.stop()
        for target in sorted((m.target for m in mountinfo.mounts()
                              if m.target.startswith(base + '/')),
                             reverse=True):
            run('umount', '-l', target, check=False)
        shutil.rmtree(base, ignore_errors=True)
