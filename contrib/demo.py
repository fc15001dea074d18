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

"""novadocker demo: one server through Nova's API on a real Docker engine.

Starts Nova's own services in this process (REST API, conductor,
scheduler, Placement and a nova-compute running
``compute_driver = novadocker.virt.docker.DockerDriver``) against the Docker
engine at ``$DOCKER_HOST``, uploads ``docker save`` of the local busybox
image to Glance under a name Docker does not know, boots a server from that
``container_format=docker`` image (the first boot streams it from Glance
into Docker, checksum checked), shows the server, its container and its
console output, then deletes the server and shows that the container is
gone.

Run it through ``tools/dev.sh demo``, which starts a private Docker engine
and sets ``$DOCKER_HOST``.  Nova's own log goes to a file (its path is
printed), not to the terminal.  Everything the demo creates is removed
when it ends, also when it fails; it then exits with status 1.
"""

import argparse
import os
import sys
import tempfile
import time
import traceback
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

from nova.compute import power_state  # noqa: E402
from nova.tests.functional.api import client as api_client  # noqa: E402

from novadocker.virt.docker.image import store  # noqa: E402
from novadocker.virt.docker import translator  # noqa: E402
from tests.functional import base  # noqa: E402

# The terminal; nova's own output (fd 1 and 2) goes to the log file.
OUT = sys.stdout
COMMAND = ('sh -c \'trap "exit 0" TERM; '
           'echo "hello from $(hostname): GREETING=$GREETING"; '
           'sleep 100000 & wait\'')
GLANCE_NAME = 'Demo Busybox (saved)'
# What COMMAND prints once it runs (with the server's metadata).
GREETING_LINE = 'GREETING=hello from nova'


def say(text=''):
    OUT.write(text + '\n')
    OUT.flush()


def step(text):
    say('==> ' + text)


def container_line(info):
    """A ``docker ps``-like line with the limits Docker enforces."""
    hc = info['HostConfig']
    mib = 1024 * 1024
    return ('%s  image=%s  state=%s  memory=%dMiB  memory+swap=%dMiB  '
            'cpus=%.2f  cpu-shares=%d  pids-limit=%s  network=%s  '
            'privileged=%s  security-opt=%s'
            % (info['Name'].lstrip('/'), info['Config']['Image'],
               info['State']['Status'], hc['Memory'] // mib,
               hc['MemorySwap'] // mib, hc['NanoCpus'] / 1e9,
               hc['CpuShares'], hc['PidsLimit'], hc['NetworkMode'],
               str(hc['Privileged']).lower(),
               ','.join(hc['SecurityOpt'] or [])))


class Demo(base.DockerFunctionalTestCase):

    def runTest(self):
        version = self.docker.version()
        step('Docker engine %s: Docker %s, API %s'
             % (base.docker_host(), version['Version'],
                version['ApiVersion']))
        step('Nova services started in-process: API, conductor, scheduler, '
             'placement, nova-compute on host %s with compute_driver=%s'
             % (self.host, base.DRIVER))

        tarball = b''.join(self.docker.get_image(self.busybox))
        image = self.create_docker_image(name=GLANCE_NAME, command=COMMAND,
                                         data=tarball)
        local = store.image_ref(image['id'])
        self.addCleanup(self._untag, local)
        step('Glance image %s: name=%r (unknown to Docker), %d bytes of '
             '`docker save %s`, container_format=%s, os_command_line=%r'
             % (image['id'], image['name'], len(tarball), self.busybox,
                image['container_format'],
                image['properties']['os_command_line']))
        flavor = self.create_flavor(memory_mb=128, vcpus=1, disk=1,
                                    name='demo.tiny')
        step('Flavor demo.tiny: 1 vCPU, 128 MiB RAM, 1 GB disk')

        started = time.monotonic()
        server = self.boot(image['id'], flavor, name='demo-server',
                           metadata={'GREETING': 'hello from nova'})
        step('Server %s (%s): status=%s power_state=%s host=%s '
             '(booted in %.1f s)'
             % (server['id'], server['name'], server['status'],
                power_state.STATE_MAP[server['OS-EXT-STS:power_state']],
                server['OS-EXT-SRV-ATTR:host'],
                time.monotonic() - started))

        info = self.container(server)
        if info is None:
            raise AssertionError('no container for server %s'
                                 % server['id'])
        step('Docker image %s: %s, streamed from Glance on this first '
             'boot with its checksum checked'
             % (local, self.docker.inspect_image(local)['Id']))
        step('Container: ' + container_line(info))
        step('Container labels: ' + ', '.join(
            '%s=%s' % kv for kv in sorted(info['Config']['Labels'].items())))

        # ACTIVE means the container started, not that its command has
        # written anything yet: wait (bounded) for the greeting itself.
        output = self.wait_for(
            lambda: (lambda text: text if GREETING_LINE in text else None)(
                self.api.post_server_action(
                    server['id'], {'os-getConsoleOutput': {}})['output']),
            timeout=30, what='the greeting in the console output')
        step('Console output (nova console-log):')
        for line in output.splitlines():
            say('    | ' + line)

        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
        try:
            self.api.get_server(server['id'])
        except api_client.OpenStackApiNotFoundException:
            step('Server %s deleted: the API answers 404' % server['id'])
        gone = self.container(server) is None
        step('Container %s: %s'
             % (translator.container_name(server['id']),
                'gone' if gone else 'STILL THERE'))
        if not gone:
            raise AssertionError('the container outlived its server')

    def _untag(self, ref):
        # The image cache would prune the tag once unused; the demo leaves
        # nothing behind at once. The busybox image keeps its own tag.
        try:
            self.docker.remove_image(ref)
        except Exception:   # best effort: the demo's result stands anyway
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--log', help="keep Nova's log in this file")
    args = parser.parse_args()
    try:
        base.docker_host()
    except RuntimeError as e:
        say('FAILED: %s' % e)
        return 1
    if args.log:
        log = open(args.log, 'w')
    else:
        log = tempfile.NamedTemporaryFile(prefix='novadocker-demo-',
                                          suffix='.log', delete=False)
    say('novadocker demo')
    result = unittest.TestResult()
    # Nova's services write to stdout and stderr: send both to the log file
    # and keep a private copy of the terminal for the demo's own lines.
    global OUT
    saved = [os.dup(1), os.dup(2)]
    OUT = os.fdopen(os.dup(saved[0]), 'w')
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        Demo().run(result)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        OUT.close()
        OUT = sys.stdout
        log.close()
    problems = result.errors + result.failures
    if problems:
        for _test, trace in problems:
            say('FAILED:')
            say(trace)
        say('Demo FAILED; everything it created was removed. Nova log: %s'
            % log.name)
        return 1
    if not args.log:
        os.unlink(log.name)
    say('Demo OK: everything it created was removed.')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception:   # the demo's one exit: show the trace, fail
        traceback.print_exc()
        sys.exit(1)
