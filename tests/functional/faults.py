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

"""Faults at the places the driver talks to the outside, for the tests
of tests/functional/test_spawn_faults.py and test_faults.py.

Docker, the kernel and Open vSwitch all work on the test machines, so a
fault is injected where the driver calls them: ``DockerClient`` (raising
what the client raises when the engine fails), the privileged entrypoints
of ``novadocker.privsep.linux_net`` (raising what pyroute2 raises) and
os-vif's ``plug``/``unplug`` (raising os-vif's exceptions). The steps
before the fault run for real.

:class:`Fault` raises once, at the first call it matches, then lets the
calls through: a reschedule or a retry of the operation finds a working
host. :class:`FaultsTestCase` runs two computes on one engine (so that a
reschedule is seen: the server goes ACTIVE on the other host) with ports
on a bridge of its own in the host's Open vSwitch.
"""

import errno
import json
import uuid

import docker
import fixtures
from nova.network import model as network_model
import os_vif
from os_vif import exception as osvif_exception
from oslo_utils import uuidutils
from pyroute2.netlink import exceptions as nl_exceptions

from novadocker.privsep import linux_net
from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import driver as docker_driver
from novadocker.virt.docker import exception
from novadocker.virt.docker.image import store
from novadocker.virt.docker import labels
from novadocker.virt.docker.network import hold
from tests.functional import base
from tests.functional import leftovers
from tests.functional import test_networking

RESCHEDULED = ('No valid host', 'Exceeded maximum number of retries')


# What the outside raises

def engine_error(what):
    """What ``DockerClient`` raises for an engine's 500."""
    return exception.DockerServerError(what=what, reason='injected fault')


def netlink_error():
    """What pyroute2 raises (through privsep) for a refused request."""
    return nl_exceptions.NetlinkError(errno.EBUSY, 'injected fault')


def plug_error():
    return osvif_exception.PlugException(vif='injected', err='injected')


# Which calls a fault matches

def _role(config_labels):
    return (config_labels or {}).get(labels.LABEL_ROLE)


def creates_workload(client, *args, **kwargs):
    return _role(kwargs.get('labels')) is None


def _started_role(client, ref):
    return _role(client.inspect_container(ref)['Config'].get('Labels'))


def starts_workload(client, ref, *args, **kwargs):
    return _started_role(client, ref) is None


def names_glance_image(client, ref, *args, **kwargs):
    return str(ref).startswith('nova-image:')


def removes_workload(client, ref, *args, **kwargs):
    return starts_workload(client, ref)


class Fault(fixtures.Fixture):
    """``owner.name`` raises ``error`` at the first call for which
    ``when(*args, **kwargs)`` holds (every call when None), once;
    ``fired`` says whether it did.
    """

    def __init__(self, owner, name, error, when=None):
        super().__init__()
        self.owner, self.name = owner, name
        self.error, self.when = error, when
        self.fired = False

    def _setUp(self):
        real = getattr(self.owner, self.name)

        def faulty(*args, **kwargs):
            if not self.fired and (self.when is None or
                                   self.when(*args, **kwargs)):
                self.fired = True
                raise self.error
            return real(*args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(self.owner, self.name,
                                                 faulty))


class NotReleased(fixtures.Fixture):
    """The held entrypoint's program never opens its FIFO, once:
    ``hold.release`` finds no reader; ``fired`` says whether it did.
    """

    def __init__(self):
        super().__init__()
        self.fired = False

    def _setUp(self):
        real = hold.release

        def unreleased(*args, **kwargs):
            if not self.fired:
                self.fired = True
                return False
            return real(*args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(hold, 'release',
                                                 unreleased))


def engine(method, when=None, error=None):
    return Fault(docker_client.DockerClient, method,
                 error or engine_error(method), when)


def privileged(entrypoint, error=None):
    """A fault of one of ``linux_net``'s entrypoints."""
    return Fault(linux_net, entrypoint, error or netlink_error())


def os_vif_fault(method):
    return Fault(os_vif, method, plug_error())


def ovs_interfaces(port_ids):
    """OVS interfaces (on any bridge) bound to one of the ports."""
    table = json.loads(test_networking._ovs(
        '--format=json', '--columns=name,external_ids', 'list',
        'Interface'))
    found = []
    for name, external_ids in table['data']:
        ids = dict(external_ids[1])
        if ids.get('iface-id') in port_ids:
            found.append('ovs interface %s' % name)
    return found


def forget_image(api, image_id):
    try:
        api.remove_image(store.image_ref(image_id))
    except docker.errors.NotFound:
        pass


def _node_per_host(test):
    """In-process computes get their node identity from their node name
    (nova's compute_id file is one per process).
    """
    real = docker_driver.DockerDriver.get_available_resource

    def node_uuid(nodename):
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, nodename))

    def with_node_uuid(driver, nodename):
        resources = real(driver, nodename)
        resources['uuid'] = node_uuid(nodename)
        return resources

    test.useFixture(fixtures.MockPatchObject(
        docker_driver.DockerDriver, 'get_available_resource',
        with_node_uuid))
    test.useFixture(fixtures.MockPatchObject(
        docker_driver.DockerDriver, 'get_nodenames_by_uuid',
        lambda driver, refresh=False: {node_uuid(driver._host):
                                       driver._host}))


class FaultsTestCase(test_networking.OvsPortsMixin,
                     base.DockerFunctionalTestCase):
    """Two computes (``self.host``, ``self.host2``; one when
    ``TWO_HOSTS`` is false) on one engine; ports (``self.port()``) on an
    OVS bridge of the test's own.
    """

    TWO_HOSTS = True

    def configure(self, docker_url):
        super().configure(docker_url)
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        self.flags(allow_resize_to_same_host=True)
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.flags(cpu_allocation_ratio=64.0)

    def setUp(self):
        super().setUp()
        # Ports on a bridge of the test's own (``self.bridge``).
        self.setup_ovs_ports()
        self.flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                          ephemeral=0)
        self.ports = []
        self.attempts = self._watch_spawns()

    def _start_computes(self):
        _node_per_host(self)
        self.compute = self._start_compute(self.host)
        self.hosts = [self.host]
        if self.TWO_HOSTS:
            self.host2 = 'nd-%s' % uuidutils.generate_uuid()[:12]
            self.addCleanup(base.remove_containers, self.docker, self.host2)
            self.compute2 = self._start_compute(self.host2)
            self.hosts.append(self.host2)

    def _watch_spawns(self):
        """Each spawn: ``[host, instance uuid, exception class or None,
        what was on the hosts when it started]``.
        """
        attempts = []
        real = docker_driver.DockerDriver.spawn
        test = self

        def spawn(driver, context, instance, *args, **kwargs):
            attempt = [driver._host, instance.uuid, None,
                       test.left_anywhere([instance.uuid],
                                          [instance.image_ref])]
            attempts.append(attempt)
            try:
                return real(driver, context, instance, *args, **kwargs)
            except Exception as e:
                attempt[2] = type(e)
                raise
        self.useFixture(fixtures.MockPatchObject(
            docker_driver.DockerDriver, 'spawn', spawn))
        return attempts

    def port(self, vif_type=network_model.VIF_TYPE_OVS, status='ACTIVE'):
        """A new port on the test's bridge."""
        port_id = self._port(len(self.ports) + 10, status=status)
        self.neutron._ports[port_id]['binding:vif_type'] = vif_type
        self.ports.append(port_id)
        return port_id

    def left_anywhere(self, server_ids=(), images=()):
        """What is left of the servers on any of the hosts, and on the
        switch of any port of the test.
        """
        found = set(ovs_interfaces(self.ports))
        found.update('ovs port %s' % p for p in test_networking._ovs(
            'list-ports', self.bridge).split())
        for host in self.hosts:
            found.update(leftovers.of_host(
                self.docker, host, self.instances_path,
                server_ids=server_ids, image_ids=images,
                port_ids=self.ports))
        return sorted(found)

    def left_of(self, server_id, *terms):
        """What is left that names the server, or one of ``terms`` (its
        port's ID, its image's).
        """
        terms = (server_id,) + tuple(
            t[:11] if t in self.ports else t for t in terms)
        return [f for f in self.left_anywhere([server_id])
                if any(t in f for t in terms)]

    def delete(self, server):
        self.api.delete_server(server['id'])
        self._wait_until_deleted(server)
