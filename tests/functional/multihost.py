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

"""Two Docker compute hosts in one test.

:class:`TwoHostTestCase` runs two nova-compute services in-process,
``src`` and ``dst``, each on its own private engine
(``tests.engines.RestartableEngine``) and with its own instances path, sharing
the host's Open vSwitch (a bridge of the test's own, see
``tests.functional.test_networking.OvsPortsMixin``).

The engines are started once per test process and shared by its tests;
every test uses new host names, so what one test leaves cannot confuse
the next.
"""

import os
import uuid

import docker
import fixtures
from oslo_utils import excutils
from oslo_utils import uuidutils

from novadocker.virt.docker import driver
from tests import engines
from tests.functional import base
from tests.functional import test_networking


_ENGINES = []


def shared_engines():
    """The two private engines of this test process, started at first
    use; a test module that uses them ends with ``remove_engines``.
    """
    if not _ENGINES:
        _ENGINES.extend([engines.RestartableEngine('a'),
                         engines.RestartableEngine('b')])
        try:
            for engine in _ENGINES:
                engine.start()
        except Exception:
            with excutils.save_and_reraise_exception():
                remove_engines()
    return _ENGINES


def remove_engines():
    while _ENGINES:
        _ENGINES.pop().remove()


def _node_uuid(nodename):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, nodename))


class TwoHostTestCase(base.DockerFunctionalTestCase):
    """Computes ``self.src`` and ``self.dst`` (host names), on engines
    ``self.engines[host]`` (raw clients ``self.apis[host]``).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._engines = shared_engines()

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(allow_resize_to_same_host=False)
        self.flags(my_ip='127.0.0.1')
        self.flags(migration_timeout=60, group='docker')
        self.useFixture(fixtures.MonkeyPatch('os.uname',
                                             test_networking.REAL_UNAME))
        # A compute host's node identity is one per process (nova's
        # compute_id file, faked by nova.test); in-process hosts get
        # theirs from their node name instead.
        real = driver.DockerDriver.get_available_resource

        def with_node_uuid(drv, nodename):
            resources = real(drv, nodename)
            resources['uuid'] = _node_uuid(nodename)
            return resources

        def nodenames_by_uuid(drv, refresh=False):
            return {_node_uuid(drv._host): drv._host}

        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.virt.docker.driver.DockerDriver.'
            'get_available_resource', with_node_uuid))
        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.virt.docker.driver.DockerDriver.'
            'get_nodenames_by_uuid', nodenames_by_uuid))

    def _start_computes(self):
        suffix = uuidutils.generate_uuid()[:8]
        self.src, self.dst = 'nd-src-%s' % suffix, 'nd-dst-%s' % suffix
        self.engines, self.apis, self.paths = {}, {}, {}
        for host, engine in zip((self.src, self.dst), self._engines):
            self.engines[host] = engine
            self.apis[host] = self._connect(engine.url)
            base.ensure_busybox(self.apis[host])
            self.addCleanup(self._remove_containers, host)
            self.paths[host] = self.useFixture(fixtures.TempDir()).path
            self.addCleanup(base.release_host_state, self.paths[host])
            self.flags(host_url=engine.url, group='docker')
            self.flags(instances_path=self.paths[host])
            self._start_compute(host)
        self.compute = self.computes[self.src]

    def fail_source(self):
        """The source host fails: its nova-compute and its engine stop,
        and Nova is told the service is down (the engine starts again at
        the test's end); returns the engine and the service.
        """
        engine = self.engines[self.src]
        self.addCleanup(lambda: engine.running or engine.start())
        self.computes[self.src].stop()
        engine.stop()
        service = self.admin_api.get_services(
            host=self.src, binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {'forced_down': True})
        return engine, service

    def _remove_containers(self, host):
        try:
            base.remove_containers(self.apis[host], host)
        except docker.errors.DockerException:
            pass

    # What is on each host

    def container_on(self, host, server):
        try:
            return self.apis[host].inspect_container('nova-%s' % server['id'])
        except docker.errors.NotFound:
            return None

    def leftovers(self, host, server):
        """Names of containers and images of ``server`` on ``host``."""
        api = self.apis[host]
        names = [c['Names'][0] for c in api.containers(all=True)
                 if server['id'] in c['Names'][0]]
        tags = [t for i in api.images() for t in (i.get('RepoTags') or ())
                if server['id'] in t]
        return names + tags

    def instance_dir(self, host, server):
        """What the instance's directory on ``host`` holds."""
        try:
            return sorted(os.listdir(os.path.join(self.paths[host],
                                                  server['id'])))
        except FileNotFoundError:
            return []

    def exec_on(self, host, server, *cmd):
        api = self.apis[host]
        exec_id = api.exec_create('nova-%s' % server['id'], list(cmd))['Id']
        output = api.exec_start(exec_id).decode()
        code = api.exec_inspect(exec_id)['ExitCode']
        self.assertEqual(0, code, output)
        return output

    def boot_on(self, host, image_id, flavor_id, networks='none', **extra):
        body = self._build_server(image_uuid=image_id, flavor_id=flavor_id,
                                  networks=networks, az='nova:%s' % host)
        body.update(extra)
        server = self.api.post_server({'server': body})
        server = self._wait_for_state_change(server, 'ACTIVE',
                                             max_retries=60)
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        return server
