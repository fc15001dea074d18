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

"""A fault at each step of spawn, through Nova's REST API, with a port on
real Open vSwitch (doc/reliability.rst has the table).

Each step's fault fires once. :class:`SpawnFaultsTest` runs one compute:
the build either is rescheduled (with no other host, Nova ends it with
"Exceeded maximum number of retries") or aborted (ERROR with the
driver's reason). The test checks the class of the driver's exception,
which decides that outcome, and that nothing is left on the host once
the server shows ERROR (containers, netns link, veth, OVS
interface, image tag, files, mounts). All steps share one set of
services. :class:`RescheduleTest` runs two computes and shows one
reschedule through: the other host builds the server, and nothing of the
failed build was there when it started.
"""

import base64
import collections
import errno

from nova import exception as nova_exception
from nova.network import model as network_model

from novadocker.virt.docker import configdrive
from novadocker.virt.docker import exception
from novadocker.virt.docker.image import glance as image_glance
from novadocker.virt.docker.network import wiring
from tests.functional import faults
from tests import hostile_tarballs as ht

RESCHEDULE = 'reschedule'
ABORT = 'abort'

#: ``fault()``: the Fault fixture (None: the step fails for real);
#: ``raised``: the driver's exception class; ``outcome``: RESCHEDULE or
#: ABORT; ``image``: 'local' (a local Docker image) or 'data' (a tarball
#: in Glance, loaded at the build); ``port``: keyword arguments of
#: ``port()`` (None: no port); ``body``: more server fields.
Step = collections.namedtuple('Step',
                              'fault raised outcome image port body')


def step(fault, raised, outcome=RESCHEDULE, image='local', port=(),
         body=None):
    return Step(fault, raised, outcome, image,
                None if port is None else dict(port), body or {})


ENGINE = exception.DockerServerError
NETLINK = faults.nl_exceptions.NetlinkError

STEPS = {
    'image lookup': step(lambda: faults.engine(
        'inspect_image', faults.names_glance_image), ENGINE, port=None),
    'image download': step(
        lambda: faults.Fault(image_glance.GlanceImages, 'chunks',
                             nova_exception.GlanceConnectionFailed(
                                 server='glance:9292', reason='injected')),
        nova_exception.GlanceConnectionFailed, image='data', port=None),
    'image load': step(lambda: faults.engine('load_image'), ENGINE,
                       image='data', port=None),
    'image tag': step(lambda: faults.engine('tag'), ENGINE, image='data',
                      port=None),
    'netns link': step(lambda: faults.privileged(
        'set_netns_link', OSError(errno.EEXIST, 'injected')), OSError),
    'veth': step(lambda: faults.privileged('create_veth'), NETLINK),
    'ovs plug': step(lambda: faults.os_vif_fault('plug'),
                     faults.osvif_exception.PlugException),
    'addresses': step(lambda: faults.privileged('set_addresses'), NETLINK),
    'routes': step(lambda: faults.privileged('set_routes'), NETLINK),
    'loopback': step(lambda: faults.privileged('set_loopback_up'),
                     NETLINK),
    'files rendered': step(lambda: faults.Fault(
        configdrive, 'render', OSError(errno.ENOSPC, 'No space left')),
        OSError, body={'user_data': base64.b64encode(b'x').decode()}),
    'container create': step(lambda: faults.engine(
        'create_container', faults.creates_workload), ENGINE),
    'container create, engine unreachable': step(lambda: faults.engine(
        'create_container', faults.creates_workload,
        exception.DockerUnreachable(url='unix:///x', reason='injected')),
        exception.DockerUnreachable),
    'container start': step(lambda: faults.engine(
        'start', faults.starts_workload), ENGINE),
    # The held entrypoint's program did not wait for its network.
    'entrypoint release': step(faults.NotReleased, wiring.HoldNotReleased),
    # Real faults: Neutron never reports the port plugged; a VIF type the
    # driver cannot plug.
    'vif-plugged wait': step(
        None, nova_exception.VirtualInterfaceCreateException, ABORT,
        port={'status': 'DOWN'}),
    'unsupported VIF type': step(
        None, nova_exception.VirtualInterfaceCreateException, ABORT,
        port={'vif_type': network_model.VIF_TYPE_MACVTAP}),
}


class _SpawnFaultsTestCase(faults.FaultsTestCase):
    # Builds, reschedules and deletes run as with a real message bus.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        # After NeutronFixture's, which turns the wait off.
        self.flags(vif_plugging_timeout=2, vif_plugging_is_fatal=True)

    def _image(self, kind):
        if kind == 'local':
            return self.create_docker_image()['id']
        image = self.create_docker_image(name='faults', data=ht.good())['id']
        # A failed load leaves no tag; one that works stays cached (the
        # image cache's to prune).
        self.addCleanup(faults.forget_image, self.docker, image)
        return image

    def boot(self, name, s, wanted):
        """Boot with ``s``'s fault armed until the server shows
        ``wanted``; returns it and the driver's first spawn attempt.
        """
        image = self._image(s.image)
        networks = 'none'
        if s.port is not None:
            networks = [{'port': self.port(**s.port)}]
        body = self._build_server(name=name, image_uuid=image,
                                  flavor_id=self.flavor, networks=networks)
        body.update(s.body)
        if s.fault is None:
            server = self._posted(body, wanted)
        else:
            with s.fault() as fault:
                server = self._posted(body, wanted)
            self.assertTrue(fault.fired, name)
        attempts = [a for a in self.attempts if a[1] == server['id']]
        self.assertTrue(issubclass(attempts[0][2] or type(None), s.raised),
                        '%s: %s' % (name, attempts[0][2]))
        return server, attempts

    def _posted(self, body, wanted):
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, wanted, max_retries=240)

    def delete_all(self, servers):
        for server in servers:
            self.api.delete_server(server['id'])
        for server in servers:
            self._wait_until_deleted(server)
        self.assertEqual([], self.left_anywhere([s['id'] for s in servers]))


class SpawnFaultsTest(_SpawnFaultsTestCase):
    TWO_HOSTS = False

    def test_each_step(self):
        servers = []
        for name, s in STEPS.items():
            server, attempts = self.boot(name, s, 'ERROR')
            servers.append(server)
            self.assertEqual(1, len(attempts), name)
            message = server['fault']['message']
            rescheduled = any(r in message for r in faults.RESCHEDULED)
            self.assertEqual(s.outcome == RESCHEDULE, rescheduled,
                             '%s: %s' % (name, message))
            # Nothing is left on the host once Nova shows the failure.
            self.assertEqual([], self.left_anywhere(
                [server['id']], [server['image']['id']]), name)
        self.delete_all(servers)


class RescheduleTest(_SpawnFaultsTestCase):

    def test_container_start_fault_rescheduled_elsewhere(self):
        name = 'container start'
        server, attempts = self.boot(name, STEPS[name], 'ACTIVE')
        self.assertEqual(2, len(attempts))
        (failed, uuid, _error, before), retry = attempts
        self.assertNotEqual(failed, retry[0])
        self.assertIsNone(retry[2])
        self.assertEqual(retry[0], server['OS-EXT-SRV-ATTR:host'])
        # Nothing was there when the first build started, nor (of the
        # failed build) when the other host started.
        self.assertEqual([], before)
        self.assertEqual([], retry[3])
        self.delete_all([server])
