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

"""Nova's in-process services with the Docker driver on a real engine.

:class:`DockerFunctionalTestCase` starts nova's real REST API, conductor,
scheduler, Placement and one nova-compute running
``novadocker.virt.docker.DockerDriver`` (loaded by nova's own
``load_compute_driver``) against the Docker engine at ``$DOCKER_HOST``.
Glance is :class:`tests.functional.glance.StreamingGlanceFixture` (set
``GLANCE_FIXTURE`` to change it), Neutron and Cinder are nova's fixtures.

Each test gets its own compute host name (``self.host``); every container
labelled with it is removed when the test ends, so tests can run in
parallel against one engine.

Helpers: ``create_docker_image()`` (a Glance image booting a local Docker
image, or carrying ``data``), ``create_flavor()``, ``boot()``,
``container()`` (``docker inspect`` of a server's container), ``docker``
(the raw Docker SDK client), ``driver`` (the compute's DockerDriver),
``wait_for()`` and ``wait_for_status()``, plus nova's
``PlacementInstanceHelperMixin`` helpers (``_stop_server()``, ...).
Override ``configure()`` to set more nova.conf options before the services
start, and ``GLANCE_FIXTURE`` to use another Glance fixture.

The tests run as root: the driver's privileged steps run in-process.
"""

import io
import os
import subprocess
import sys
import time
from unittest import mock
import warnings

import docker
import fixtures
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client as api_client
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers
from oslo_utils import uuidutils

from novadocker import conf as docker_conf
import novadocker.privsep
from novadocker.privsep import linux_net
from novadocker.virt.docker import labels
from novadocker.virt.docker import translator
from tests.functional import cells
from tests.functional import glance
from tests import images as test_images

DRIVER = 'novadocker.virt.docker.DockerDriver'
# Keeps a container running, stops at once on SIGTERM (the shell is PID 1,
# which ignores signals it does not trap) and prints a line first.
KEEP_RUNNING = ('sh -c \'trap "exit 0" TERM; echo novadocker-console-ready; '
                'sleep 100000 & wait\'')


def docker_host():
    """``$DOCKER_HOST``; these tests fail, never skip, without it."""
    url = os.environ.get('DOCKER_HOST')
    if not url:
        raise RuntimeError('DOCKER_HOST is not set: the functional tests '
                           'need a real Docker engine')
    return url


def ensure_busybox(api):
    """The shared busybox test image; imported only when it is missing, so
    that repeated runs leave no untagged copies behind.
    """
    try:
        api.inspect_image(test_images.BUSYBOX_IMAGE)
    except docker.errors.NotFound:
        test_images.ensure_busybox(api)
    return test_images.BUSYBOX_IMAGE


def remove_containers(api, host):
    """Force-remove every container labelled as ours on ``host``, and the
    network namespace link named as it (``/var/run/netns/nova-<uuid>``),
    which a server the test did not delete leaves dangling.
    """
    owned = labels.owner_labels(host)
    filters = {'label': ['%s=%s' % kv for kv in sorted(owned.items())]}
    for c in api.containers(all=True, filters=filters):
        try:
            api.remove_container(c['Id'], force=True, v=True)
        except docker.errors.NotFound:
            pass
        # A container the engine is removing (a delete still under way
        # when a test failed) is listed with no names ("Names": null).
        for name in c.get('Names') or ():
            link = os.path.join(linux_net.NETNS_DIR, name.lstrip('/'))
            if os.path.islink(link):
                os.unlink(link)


def release_host_state(path):
    """Unmount whatever is still mounted beneath ``path`` (deepest first)
    and detach the loop devices whose backing files lie there.

    A test that ends with a server still on the host leaves the driver's
    per-instance mounts (the shared volumes directory, ephemeral disks);
    the containers go with ``remove_containers``, these go here, so that
    one test's servers do not pile up in the host's mount table.
    """
    prefix = os.path.realpath(path).rstrip('/') + '/'
    with open('/proc/self/mountinfo') as f:
        points = [line.split()[4] for line in f]
    for point in sorted({p for p in points if p.startswith(prefix)},
                        key=len, reverse=True):
        subprocess.run(['umount', '-l', point], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listing = subprocess.run(['losetup', '--list', '--noheadings',
                              '--output', 'NAME,BACK-FILE'],
                             capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        name, _, backing = line.strip().partition(' ')
        if backing.strip().startswith(prefix):
            subprocess.run(['losetup', '-d', name], check=False,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


#: The bound of the waits for a server's state (nova's wait helpers and
#: ``wait_for_status``) and of ``wait_for`` unless a test says otherwise:
#: generous, so that a busy machine (CI runs two suites at once) makes a
#: test slower, never red.
WAIT = 180
#: How often those waits look: a test goes on soon after the server is
#: ready (nova's helpers look every 0.5 s).
POLL = 0.2


def wait_for(predicate, timeout, interval=POLL, what='condition'):
    """Poll ``predicate()`` until it returns a true value, at most
    ``timeout`` seconds; returns that value or raises AssertionError.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)


class DockerFunctionalTestCase(
        test.TestCase, integrated_helpers.PlacementInstanceHelperMixin):
    """Real nova services plus one Docker compute host per test."""

    #: The Glance fixture class; it must accept the test case as argument.
    GLANCE_FIXTURE = glance.StreamingGlanceFixture
    #: Casts become calls, so an API action has finished when it returns.
    CAST_AS_CALL = True
    #: 2.74 allows ``networks='none'`` and booting onto a named host.
    microversion = '2.74'
    #: Seconds between nova's periodic power syncs: high, so that only the
    #: driver's Docker events can change a server's power state in a test.
    SYNC_POWER_STATE_INTERVAL = 3600

    def setUp(self):
        url = self.engine_url()
        super().setUp()
        self.configure(url)
        self.docker = self._connect(url)
        self.busybox = ensure_busybox(self.docker)
        self.host = 'nd-%s' % uuidutils.generate_uuid()[:12]
        remove_containers(self.docker, self.host)
        self.addCleanup(remove_containers, self.docker, self.host)
        self._start_services()

    def _setup_cells(self):
        # nova's cell database fixture deadlocks when builds run in
        # parallel on native threads; ours keeps the targeted cell per
        # thread (tests/functional/cells.py).
        with mock.patch.object(nova_fixtures, 'CellDatabases',
                               cells.ThreadLocalCellDatabases):
            super()._setup_cells()

    def engine_url(self):
        """The engine the test runs against: ``$DOCKER_HOST``; override
        to use another (called before nova's test setup).
        """
        return docker_host()

    def configure(self, docker_url):
        """nova.conf for the services; override (calling this first) to set
        more options before they start.
        """
        # Nova's own loader finds the driver through the nova.virt shim.
        self.flags(compute_driver=DRIVER)
        # The [docker] options, before the driver's module is imported
        # (the package loads it lazily, when the compute starts).
        docker_conf.register_opts(test.CONF)
        # SQLAlchemy 2.1 deprecates orm.noload(), which nova still uses;
        # nova's WarningsFixture would turn that warning into a 500.  The
        # fixture restores the warning filters when the test ends.
        warnings.filterwarnings('ignore', message=r'.*noload.*')
        self.flags(group='wsgi', api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'))
        # The driver registers [docker] when nova loads it, after this.
        docker_conf.register_opts(test.CONF)
        self.flags(host_url=docker_url, stop_timeout=10, group='docker')
        self.flags(sync_power_state_interval=self.SYNC_POWER_STATE_INTERVAL)
        # A service's stop() runs its manager's graceful shutdown in a
        # thread and waits this long for it.  nova's test default (0) lets
        # that thread outlive ServiceFixture's stub of
        # shutdown_all_executors() on a busy machine and shut down the
        # process-wide thread pools, failing every later test.  The wait
        # ends as soon as the shutdown is done (a few milliseconds).
        self.flags(manager_shutdown_timeout=10)
        # Config drives, keys and network files live per test, and go with
        # it even when a test leaves a server behind.
        instances_path = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(release_host_state, instances_path)
        self.flags(instances_path=instances_path)

    def _connect(self, url):
        try:
            api = docker.APIClient(base_url=url, version='auto')
        except docker.errors.DockerException as e:
            raise RuntimeError('Docker engine at %s cannot be reached: %s'
                               % (url, e)) from None
        self.addCleanup(api.close)
        return api

    def _start_services(self):
        if self.CAST_AS_CALL:
            self.useFixture(nova_fixtures.CastAsCallFixture(self))
        # The tests run as root: privileged steps (network namespaces) run
        # in-process, as nova's PrivsepFixture does for nova's context,
        # instead of through a privsep daemon started by rootwrap.
        self.useFixture(fixtures.MockPatchObject(
            novadocker.privsep.sys_admin_pctxt, 'client_mode', False))
        self.policy = self.useFixture(nova_fixtures.RealPolicyFixture())
        self.neutron = self.useFixture(nova_fixtures.NeutronFixture(self))
        self.glance = self.useFixture(self.GLANCE_FIXTURE(self))
        self.useFixture(nova_fixtures.CinderFixture(self))
        self.placement = self.useFixture(func_fixtures.PlacementFixture()).api
        self.useFixture(nova_fixtures.AllServicesCurrent())
        self.notifier = self.useFixture(
            nova_fixtures.NotificationFixture(self))
        self.api_fixture = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version='v2.1'))
        self.admin_api = self.api_fixture.admin_api
        self.admin_api.microversion = self.microversion
        self.api = self.admin_api

        self.start_service('conductor')
        self.start_service('scheduler')
        self._start_computes()
        self.ctxt = nova_context.get_admin_context()

    def _start_computes(self):
        """Start the compute service(s); one on ``self.host`` here."""
        self.compute = self._start_compute(self.host)

    @property
    def driver(self):
        return self.compute.manager.driver

    # Glance images and flavors

    def create_docker_image(self, name=None, command=KEEP_RUNNING,
                            container_format='docker', data=None,
                            **properties):
        """A Glance image of the local Docker image ``name`` (by default
        the busybox test image); returns the image dict.
        """
        props = {'hypervisor_type': 'docker'}
        if command:
            props['os_command_line'] = command
        props.update(properties)
        meta = {
            'name': name or self.busybox,
            'container_format': container_format,
            'disk_format': 'raw',
            'visibility': 'public',
            'min_ram': 0,
            'min_disk': 0,
            'properties': props,
        }
        if data is None:
            meta['size'] = 1024 * 1024
        else:
            data = io.BytesIO(data)
        return self.glance.create(None, meta, data=data)

    def create_flavor(self, memory_mb=128, vcpus=1, disk=1, name=None,
                      ephemeral=0):
        return self._create_flavor(memory_mb=memory_mb, vcpu=vcpus,
                                   disk=disk, name=name, ephemeral=ephemeral)

    def _create_flavor(self, ephemeral=0, **kwargs):
        # Nova's helper gives every flavor a 10 GiB ephemeral disk, which
        # the driver makes (disks/ephemeral.py); tests ask for one.
        return super()._create_flavor(ephemeral=ephemeral, **kwargs)

    # Servers and their containers

    def boot(self, image_id, flavor_id, metadata=None, expected='ACTIVE',
             name=None, networks='none'):
        """Create a server (by default without networks) and wait until
        the API shows ``expected``; returns the server.
        """
        body = self._build_server(name=name, image_uuid=image_id,
                                  flavor_id=flavor_id, networks=networks)
        if metadata:
            body['metadata'] = metadata
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected, max_retries=60)

    def instance(self, server):
        return objects.Instance.get_by_uuid(self.ctxt, server['id'])

    def container(self, server_or_uuid):
        """``docker inspect`` of a server's container, or None if it is
        missing.
        """
        uuid = (server_or_uuid['id'] if isinstance(server_or_uuid, dict)
                else server_or_uuid)
        try:
            return self.docker.inspect_container(
                translator.container_name(uuid))
        except docker.errors.NotFound:
            return None

    def wait_for(self, predicate, timeout=WAIT, what='condition'):
        return wait_for(predicate, timeout, what=what)

    def wait_for_status(self, server, status, timeout=WAIT):
        """Poll the API until the server shows ``status``."""
        return wait_for(
            lambda: (lambda s: s if s['status'] == status else None)(
                self.api.get_server(server['id'])),
            timeout, what='server %s to become %s' % (server['id'], status))

    # nova's wait helpers, with WAIT and POLL: nova's wait 5 s at most
    # unless told otherwise (max_retries polls 0.5 s apart).

    def _wait_for_server_parameter(self, server, expected_params,
                                   max_retries=10, api=None,
                                   wait_for_fault_key=True):
        api = api or self.admin_api
        # As nova's: a server in ERROR is awaited with its fault.
        fault = (wait_for_fault_key and
                 expected_params.get('status') == 'ERROR')
        seen = {}

        def reached():
            seen['server'] = found = api.get_server(server['id'])
            if any(found[k] != v for k, v in expected_params.items()):
                return None
            return found if not fault or 'fault' in found else None

        try:
            return wait_for(reached, max(WAIT, max_retries * 0.5))
        except AssertionError:
            self.fail('server %s never had %s%s; last seen: %s'
                      % (server['id'], expected_params,
                         ' and a fault' if fault else '', seen['server']))

    def _wait_for_migration_status(self, server, expected_statuses):
        # As nova's, bounded at WAIT (nova's looks 10 times, 5 s).
        api = getattr(self, 'admin_api', self.api)
        statuses = [status.lower() for status in expected_statuses]
        seen = {}

        def found():
            for migration in api.api_get('/os-migrations').body[
                    'migrations']:
                if migration['instance_uuid'] == server['id']:
                    seen['status'] = migration['status']
                    if migration['status'].lower() in statuses:
                        return migration
            return None

        try:
            return wait_for(found, WAIT)
        except AssertionError:
            self.fail('no migration of %s in %s; last seen: %s'
                      % (server['id'], expected_statuses,
                         seen.get('status')))

    def _wait_until_deleted(self, server):
        in_error = server.get('status') == 'ERROR'

        def gone():
            try:
                found = self.api.get_server(server['id'])
            except api_client.OpenStackApiNotFoundException:
                return True
            if found['status'] == 'ERROR' and not in_error:
                self.fail('server %s went to ERROR instead of going away'
                          % server['id'])
            return False

        wait_for(gone, WAIT, what='server %s to be deleted' % server['id'])
