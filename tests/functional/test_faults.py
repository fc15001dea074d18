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

"""A fault at each step of delete, snapshot, reboot and resize, through
Nova's API, on servers with a port on real Open vSwitch
(doc/reliability.rst has the table; spawn is in test_spawn_faults.py).

Each step's fault fires once (tests/functional/faults.py). The test
checks the state Nova shows afterwards, that the server recovers (a
second delete removes it; a hard reboot brings it back ACTIVE, running,
with its port wired), and that nothing is left once it is deleted. Each
operation's steps share one set of services and, but for delete, one
server.
"""

import errno

from nova import exception as nova_exception

from novadocker.virt.docker.image import glance as image_glance
from tests.functional import faults
from tests.functional import leftovers


def _glance_down():
    return nova_exception.GlanceConnectionFailed(server='glance:9292',
                                                 reason='injected')


class OperationFaultsTest(faults.FaultsTestCase):
    # A failed operation ends in the server's state, not in the API's
    # answer, as with a real message bus.
    CAST_AS_CALL = False
    # One compute: a resize stays on its host.
    TWO_HOSTS = False

    def setUp(self):
        super().setUp()
        self.image = self.create_docker_image()['id']
        self.port_of = {}

    def _boot(self, count=1):
        """``count`` servers, built side by side."""
        posted = []
        for _ in range(count):
            port = self.port()
            posted.append(self.api.post_server({'server': self._build_server(
                image_uuid=self.image, flavor_id=self.flavor,
                networks=[{'port': port}])}))
            self.port_of[posted[-1]['id']] = port
        servers = [self._wait_for_state_change(s, 'ACTIVE', max_retries=120)
                   for s in posted]
        return servers[0] if count == 1 else servers

    def _settled(self, server, status):
        return self._wait_for_server_parameter(
            server, {'status': status, 'OS-EXT-STS:task_state': None},
            max_retries=120)

    def _act(self, server, fault, action, status):
        """``action`` with ``fault`` armed; the server once settled in
        ``status``.
        """
        with fault as armed:
            self.api.post_server_action(server['id'], action)
            server = self._settled(server, status)
        self.assertTrue(armed.fired, action)
        return server

    def _hard_reboot(self, server):
        self.api.post_server_action(server['id'], {'reboot': {'type':
                                                              'HARD'}})
        server = self._settled(server, 'ACTIVE')
        self._assert_serving(server)
        return server

    def _assert_serving(self, server):
        """Running, with its port wired (the address Neutron gave)."""
        self.assertTrue(self.container(server)['State']['Running'])
        exec_id = self.docker.exec_create(
            self.container(server)['Id'], ['ip', '-4', 'addr'])['Id']
        out = self.docker.exec_start(exec_id).decode()
        address = server['addresses']
        wanted = [a['addr'] for net in address.values() for a in net
                  if a['version'] == 4]
        self.assertTrue(wanted and all(a in out for a in wanted), out)

    def _deleted(self, server):
        self.delete(server)
        self.assertEqual([], self.left_of(server['id'],
                                          self.port_of[server['id']]))

    def test_delete(self):
        steps = {
            'container remove': faults.engine('remove_container',
                                              faults.removes_workload),
            # os-vif removes the host link with the switch port; the
            # driver deletes what is left of it after a failed unplug.
            'ovs unplug': faults.os_vif_fault('unplug'),
            'netns link remove': faults.privileged(
                'remove_netns_link', OSError(errno.EBUSY, 'injected')),
        }
        for server, (name, fault) in zip(self._boot(len(steps)),
                                         steps.items()):
            with fault as armed:
                self.api.delete_server(server['id'])
                server = self._settled(server, 'ERROR')
            self.assertTrue(armed.fired, name)
            if name == 'container remove':
                # No data lost: the container is still there.
                self.assertIsNotNone(self.container(server))
            # Once the host works again, the delete goes through.
            self._deleted(server)
        self.assertEqual([], self.left_anywhere())

    def test_snapshot(self):
        server = self._boot()
        steps = {
            'commit': faults.engine('commit'),
            'save': faults.engine('get_image'),
            'upload': faults.Fault(image_glance.GlanceImages, 'upload',
                                   _glance_down()),
        }
        for name, fault in steps.items():
            with fault as armed:
                snapshot_id = self.api.post_server_action(
                    server['id'],
                    {'createImage': {'name': name}})['image_id']
                server = self._settled(server, 'ACTIVE')
            self.assertTrue(armed.fired, name)
            self.addCleanup(faults.forget_image, self.docker, snapshot_id)
            self.assertTrue(self.container(server)['State']['Running'])
            # Nova deleted the Glance image; the driver its committed one.
            self.assertNotIn(snapshot_id, self.glance.images, name)
            self.assertEqual([], leftovers.image_tags(self.docker,
                                                      [snapshot_id]), name)
        self._assert_serving(server)
        self._deleted(server)

    def test_reboot(self):
        server = self._boot()
        # (type, step, fault, the state Nova shows): a container that
        # still runs stays ACTIVE; one that does not is ERROR until a hard
        # reboot.
        steps = [
            ('SOFT', 'stop', faults.engine('stop'), 'ACTIVE'),
            ('HARD', 'kill', faults.engine('kill'), 'ACTIVE'),
            ('SOFT', 'ovs plug', faults.os_vif_fault('plug'), 'ERROR'),
            ('HARD', 'ovs plug', faults.os_vif_fault('plug'), 'ERROR'),
            ('SOFT', 'start', faults.engine('start'), 'ERROR'),
            ('HARD', 'start', faults.engine('start'), 'ERROR'),
        ]
        for kind, name, fault, status in steps:
            server = self._act(server, fault, {'reboot': {'type': kind}},
                               status)
            if status == 'ERROR':
                server = self._hard_reboot(server)
            else:
                self._assert_serving(server)
        self._deleted(server)

    def test_resize(self):
        server = self._boot()
        steps = [
            ('stop', faults.engine('stop')),
            ('new limits', faults.engine('update_resources')),
            ('ovs plug', faults.os_vif_fault('plug')),
            ('start', faults.engine('start')),
        ]
        for i, (name, fault) in enumerate(steps):
            bigger = self._create_flavor(memory_mb=80 + 16 * i, vcpu=1,
                                         disk=1, ephemeral=0)
            server = self._act(server, fault,
                               {'resize': {'flavorRef': bigger}}, 'ERROR')
            info = self.container(server)
            if name == 'stop':
                self.assertTrue(info['State']['Running'])
            if name == 'new limits':
                # The container keeps the old flavor's limits.
                self.assertEqual(64 << 20, info['HostConfig']['Memory'])
            server = self._hard_reboot(server)
        self._deleted(server)
