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

"""Escape attempts from inside a server booted through Nova's API.

The server's main process is ``battery.sh``: it tries to reach the
engine's socket, see host processes, mount, make and use device nodes,
load a module, change host sysctls, reach the host's network namespace
and read another server's config drive, and prints what happened on the
console, which the test reads through the API. Every attempt must fail.
A setuid-root program in the image must not raise a non-root user's
privileges (no-new-privileges); the same program in a plain ``docker run``
does, which shows the check can fail. The seccomp profile and the
flavor's limits are read from inside too.

With the engine started with ``--userns-remap=default`` (the CI stage
``userns``), the same test shows root in the container is an unprivileged
user on the host.
"""

import base64
import hashlib
import io
import os
import platform
import struct
import tarfile
import uuid

import docker

from tests.functional import base
from tests import images as test_images

HERE = os.path.dirname(os.path.abspath(__file__))
BATTERY = os.path.join(HERE, 'battery.sh')
EXTRA_APPLETS = ('mount', 'mknod', 'insmod', 'rmmod', 'sysctl', 'nsenter',
                 'unshare', 'find', 'xargs', 'tr', 'readlink')
HOST_SYSCTLS = ('kernel/core_pattern', 'vm/swappiness', 'fs/file-max')
USER = 1000


def euid_program():
    """A static x86-64 ELF that exits with its effective uid (mod 256):
    geteuid(); exit(euid).  It drops nothing, unlike busybox.
    """
    code = bytes.fromhex('b86b0000000f0589c7b83c0000000f05')
    base_addr, entry = 0x400000, 64 + 56
    size = entry + len(code)
    header = (b'\x7fELF\x02\x01\x01' + b'\0' * 9 +
              struct.pack('<HHIQQQIHHHHHH', 2, 0x3e, 1, base_addr + entry,
                          64, 0, 0, 64, 56, 1, 0, 0, 0))
    program = struct.pack('<IIQQQQQQ', 1, 5, 0, base_addr, base_addr, size,
                          size, 0x1000)
    return header + program + code


def battery_rootfs():
    """busybox, the applets the battery needs, the battery and a
    setuid-root copy of euid_program().
    """
    buf = io.BytesIO(test_images.busybox_rootfs())
    with open(BATTERY, 'rb') as f:
        script = f.read()
    with tarfile.open(fileobj=buf, mode='a') as tar:
        for applet in EXTRA_APPLETS:
            info = tarfile.TarInfo('bin/' + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = 'busybox'
            tar.addfile(info)
        for name, data, mode in (('nd-battery.sh', script, 0o755),
                                 ('nd-euid', euid_program(), 0o4755)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ensure_battery_image(api):
    rootfs = battery_rootfs()
    ref = 'novadocker-test/battery:%s' % hashlib.sha256(
        rootfs).hexdigest()[:12]
    try:
        api.inspect_image(ref)
    except docker.errors.NotFound:
        repository, tag = ref.split(':')
        test_images.import_rootfs(api, rootfs, repository, tag)
    return ref


def _exec(api, container, cmd, user=''):
    exec_id = api.exec_create(container, cmd, user=user)['Id']
    output = api.exec_start(exec_id)
    return api.exec_inspect(exec_id)['ExitCode'], output


def _remapped(api):
    """Whether the engine runs with ``--userns-remap``."""
    return 'name=userns' in ' '.join(api.info().get('SecurityOptions') or ())


def _sysctls():
    values = {}
    for name in HOST_SYSCTLS:
        with open('/proc/sys/' + name) as f:
            values[name] = f.read()
    return values


class SecurityTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.assertEqual('x86_64', platform.machine())
        self.image_ref = ensure_battery_image(self.docker)
        self.sock = base.docker_host()[len('unix://'):]
        self.marker = 'nd-secret-%s' % uuid.uuid4().hex
        self.flavor = self._create_flavor(memory_mb=96, vcpu=1, disk=1,
                                          ephemeral=0)

    def _console(self, server):
        return self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']

    def _battery(self):
        image = self.create_docker_image(
            name=self.image_ref,
            command='/nd-battery.sh %s %s' % (self.sock, self.marker))
        # The other server holds the marker in its config drive.
        other = self._build_server(
            image_uuid=self.create_docker_image()['id'],
            flavor_id=self.flavor, networks='none')
        other['user_data'] = base64.b64encode(
            self.marker.encode()).decode()
        self._wait_for_state_change(self.api.post_server({'server': other}),
                                    'ACTIVE')
        server = self.boot(image['id'], self.flavor)
        output = self.wait_for(
            lambda: (lambda out: out if 'ND-BATTERY-DONE' in out else None)(
                self._console(server)), timeout=120,
            what='the battery to finish')
        checks, facts = {}, {}
        for line in output.splitlines():
            words = line.split(' ', 3)
            if words[0] == 'ND-CHECK':
                checks[words[1]] = ' '.join(words[2:])
            elif words[0] == 'ND-FACT' and len(words) > 2:
                facts[words[1]] = ' '.join(words[2:])
        return server, checks, facts

    def test_escape_attempts_fail(self):
        before = _sysctls()
        server, checks, facts = self._battery()
        self.assertGreaterEqual(len(checks), 24)
        self.assertEqual({}, {name: result for name, result in checks.items()
                              if result != 'ok'})
        self.assertEqual(before, _sysctls())
        self.assertNotEqual(os.readlink('/proc/self/ns/net'), facts['netns'])
        # The flavor's limits, as the container's cgroup holds them.
        memory = facts.get('memory-v2') or facts['memory-v1']
        self.assertEqual(str(96 * 1024 * 1024), memory)
        pids = facts.get('pids-v2') or facts['pids-v1']
        limit = base.test.CONF.docker.pids_limit
        self.assertEqual(str(limit) if limit > 0 else 'max', pids)
        cpu = facts.get('cpu-v2') or facts['cpu-quota-v1']
        self.assertIn(cpu, ('100000', '100000 100000'))
        hc = self.container(server)['HostConfig']
        self.assertIn('no-new-privileges:true', hc['SecurityOpt'])
        self.assertFalse([o for o in hc['SecurityOpt'] if 'unconfined' in o])
        self.assertFalse(hc['Privileged'])

    def test_battery_finds_a_privileged_container(self):
        # The harmless half of the battery in a container that shares the
        # host's namespaces and the engine's socket, with SYS_ADMIN and
        # without seccomp or no-new-privileges: each of these checks can
        # fail.  (This host cannot start privileged containers.)
        plain = self.docker.create_container(
            self.image_ref, name='nd-control-%s' % uuid.uuid4().hex[:8],
            command=['/nd-battery.sh', self.sock, self.marker, 'control'],
            host_config=self.docker.create_host_config(
                network_mode='host', pid_mode='host', cap_add=['SYS_ADMIN'],
                # A remapping engine shares host namespaces only so.
                userns_mode='host' if _remapped(self.docker) else None,
                security_opt=['seccomp=unconfined', 'apparmor=unconfined'],
                binds=['%s:%s' % (self.sock, self.sock)]))['Id']
        self.addCleanup(self.docker.remove_container, plain, force=True)
        self.docker.start(plain)
        output = self.wait_for(
            lambda: (lambda out: out if 'ND-BATTERY-DONE' in out else None)(
                self.docker.logs(plain).decode()), timeout=60,
            what='the control battery')
        breached = {line.split()[1] for line in output.splitlines()
                    if line.startswith('ND-CHECK') and 'BREACH' in line}
        for name in ('engine-socket', 'host-processes', 'host-dockerd',
                     'mount-tmpfs', 'host-interfaces', 'no-new-privs-off',
                     'seccomp-off', 'unshare-net'):
            self.assertIn(name, breached)

    def test_setuid_does_not_raise_privileges(self):
        image = self.create_docker_image(name=self.image_ref)
        server = self.boot(image['id'], self.flavor)
        container = self.container(server)['Id']
        code, _out = _exec(self.docker, container, ['/nd-euid'],
                           user=str(USER))
        self.assertEqual(USER % 256, code)
        # Without no-new-privileges the same program runs as root: the
        # check above can fail.
        plain = self.docker.create_container(
            self.image_ref, command=['sleep', '100'],
            name='nd-plain-%s' % uuid.uuid4().hex[:8])['Id']
        self.addCleanup(self.docker.remove_container, plain, force=True)
        self.docker.start(plain)
        code, _out = _exec(self.docker, plain, ['/nd-euid'], user=str(USER))
        self.assertEqual(0, code)


class UserNamespaceTest(base.DockerFunctionalTestCase):
    """Who root in a container is on the host.  The CI stage ``userns``
    starts the engine with ``--userns-remap=default`` and sets
    NOVADOCKER_EXPECT_USERNS=1; elsewhere the engine maps no users.
    """

    def test_container_root_on_the_host(self):
        expected = os.environ.get('NOVADOCKER_EXPECT_USERNS') == '1'
        self.assertEqual(expected, _remapped(self.docker))
        flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                     ephemeral=0)
        server = self.boot(self.create_docker_image()['id'], flavor)
        pid = self.container(server)['State']['Pid']
        with open('/proc/%d/status' % pid) as f:
            uids = [line.split()[1:] for line in f
                    if line.startswith('Uid:')][0]
        code, out = _exec(self.docker, self.container(server)['Id'],
                          ['id', '-u'])
        self.assertEqual((0, b'0\n'), (code, out))
        if expected:
            # Root inside is an unprivileged uid of the host.
            self.assertNotIn('0', uids)
        else:
            self.assertEqual(['0'] * 4, uids)
