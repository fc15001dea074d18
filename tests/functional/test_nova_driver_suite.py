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

"""Nova's own generic driver test case, run against DockerDriver on the
real engine (``nova/tests/unit/virt/test_virt_drivers.py``,
``_VirtDriverTestCase``).

Its instance boots image ``cedef40a-...`` of nova's ``GlanceFixture``,
which here is the busybox test image tagged as that image's local copy;
its 4 vCPUs exceed what the CI engines have.  Its one port is a fake OVS
port without a ``devname``: the driver names the host end as Nova's
Neutron code does (``tap`` + the port's ID), and os-vif plugs it into a
userspace OVS bridge of this test's own (the port's network bridge and ID
are made unique per test, nothing else of it changes).

The suite logs NotImplementedError and lets the test pass; here each test
that meets one must be listed in :data:`MISSING`, under the row of
``doc/support-matrix.rst`` that marks the operation missing.
"""

import logging
import os
import pathlib
import subprocess
import uuid
import warnings

import docker
import fixtures
from nova import exception
from nova import objects
from nova.tests.unit import utils as test_utils
from nova.tests.unit.virt import test_virt_drivers
from nova.virt import fake
from oslo_utils import importutils
import vif_plug_ovs.ovs
import vif_plug_ovs.privsep

import novadocker.privsep
from novadocker.virt.docker.image import store as image_store
from novadocker.virt.docker.network import vifs as host_vifs
from novadocker.virt.docker import translator
from tests.functional import base

IMAGE_ID = 'cedef40a-ed67-4d10-800e-17455edce175'
OVSDB = 'unix:/var/run/openvswitch/db.sock'
MATRIX = pathlib.Path(__file__).parents[2] / 'doc' / 'support-matrix.rst'
REAL_UNAME = os.uname

# Test -> the support matrix row that marks its operation missing.
MISSING = {
    'test_block_stats': 'Volume I/O statistics (volume usage audit)',
    'test_live_migration': 'Live migrate',
    'test_live_migration_force_complete': 'Live migrate',
    'test_live_migration_abort': 'Live migrate',
    'test_get_instance_disk_info': 'Live migrate',
    'test_swap_volume': 'Swap volume',
    'test_get_device_name_for_instance': 'Device names chosen by the driver',
    'test_set_host_enabled': 'Host power actions and maintenance '
                             '(os-hosts)',
    'test_host_power_action_reboot': 'Host power actions and maintenance '
                                     '(os-hosts)',
    'test_host_power_action_shutdown': 'Host power actions and '
                                       'maintenance (os-hosts)',
    'test_host_power_action_startup': 'Host power actions and maintenance '
                                      '(os-hosts)',
}


def matrix_status(row):
    """The novadocker status of ``row`` in doc/support-matrix.rst."""
    lines = MATRIX.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == '* - %s' % row:
            return lines[i + 2].strip().lstrip('- ').strip()
    raise AssertionError('no row %r in %s' % (row, MATRIX))


def _ovs(*args):
    return subprocess.run(('ovs-vsctl', '--timeout=10') + args, check=True,
                          capture_output=True, text=True).stdout.strip()


class _NotImplementedLog(logging.Handler):
    """Records the suite's "does not implement" messages."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        message = record.getMessage()
        if 'does not implement' in message:
            self.messages.append(message)


class NovaDriverSuiteTest(test_virt_drivers._VirtDriverTestCase,
                          base.test.TestCase):
    driver_module = 'novadocker.virt.docker.DockerDriver'

    def setUp(self):
        self.docker = docker.APIClient(base_url=base.docker_host(),
                                       version='auto')
        self.addCleanup(self.docker.close)
        busybox = base.ensure_busybox(self.docker)
        self.not_implemented = _NotImplementedLog()
        suite_log = logging.getLogger(test_virt_drivers.__name__)
        suite_log.addHandler(self.not_implemented)
        self.addCleanup(suite_log.removeHandler, self.not_implemented)
        self.spawned = []
        super().setUp()
        self.addCleanup(self._check_not_implemented)
        # The suite's image, booting the busybox test image.
        self.docker.tag(busybox, image_store.REPOSITORY, IMAGE_ID)
        self.addCleanup(self._untag)
        self.image_service.update(self.ctxt, IMAGE_ID, {
            'container_format': 'docker', 'disk_format': 'raw',
            'properties': {'os_command_line': 'sleep 3600'}})
        self._record_spawns()

    def _setup_fakelibvirt(self):
        # Runs after nova's config and warnings fixtures are in place and
        # before the suite creates the driver (and before nova's libvirt
        # fixture loads os-vif): the place for the driver's configuration.
        # SQLAlchemy 2.1 deprecates orm.noload(), which nova still uses to
        # load an instance's metadata (see tests/functional/base.py).
        warnings.filterwarnings('ignore', message=r'.*noload.*')
        self._ovs_bridge()
        self.host = 'nd-suite-%s' % uuid.uuid4().hex[:8]
        self.flags(host=self.host)
        self.flags(group='docker', host_url=base.docker_host(),
                   watch_events=False, stop_timeout=1)
        self.addCleanup(base.remove_containers, self.docker, self.host)
        # Privileged steps in-process, as in tests/functional/base.py.
        self.useFixture(fixtures.MockPatchObject(
            novadocker.privsep.sys_admin_pctxt, 'client_mode', False))
        self.useFixture(fixtures.MockPatchObject(
            vif_plug_ovs.privsep.vif_plug, 'client_mode', False))
        # nova.test forbids os.uname; pyroute2 calls it in a namespace.
        self.useFixture(fixtures.MonkeyPatch('os.uname', REAL_UNAME))
        super()._setup_fakelibvirt()

    def _ovs_bridge(self):
        # The suite calls os_vif.initialize() after this: os-vif's OVS
        # plugin then reads its connection.
        base.test.CONF.register_opts(vif_plug_ovs.ovs.OvsPlugin.CONFIG_OPTS,
                                     group='os_vif_ovs')
        self.flags(group='os_vif_ovs', ovsdb_connection=OVSDB)
        host_vifs._initialize_os_vif()
        self.bridge = 'ndsu%s' % uuid.uuid4().hex[:8]
        _ovs('--may-exist', 'add-br', self.bridge, '--', 'set', 'bridge',
             self.bridge, 'datapath_type=netdev')
        self.addCleanup(_ovs, '--if-exists', 'del-br', self.bridge)
        suite_network_info = test_utils.get_test_network_info

        def network_info(count=1):
            info = suite_network_info(count)
            for vif in info:
                vif['id'] = str(uuid.uuid4())
                vif['network']['bridge'] = self.bridge
                vif['details'] = {'datapath_type': 'netdev'}
            return info

        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.unit.utils.get_test_network_info', network_info))

    def _record_spawns(self):
        spawn = self.connection.spawn

        def recorded(context, instance, *args, **kwargs):
            self.spawned.append((instance, kwargs.get('network_info')))
            return spawn(context, instance, *args, **kwargs)

        self.connection.spawn = recorded
        self.addCleanup(self._destroy_spawned)

    def _destroy_spawned(self):
        # Everything the driver made for the suite's instances: container,
        # veth, OVS port, namespace link.
        for instance, network_info in self.spawned:
            self.connection.destroy(self.ctxt, instance, network_info)

    def _untag(self):
        try:
            self.docker.remove_image(image_store.image_ref(IMAGE_ID))
        except docker.errors.NotFound:
            pass

    def _check_not_implemented(self):
        if not self.not_implemented.messages:
            return
        name = self._testMethodName
        self.assertIn(name, MISSING, 'NotImplementedError in a test that '
                      'the support matrix does not cover: %s'
                      % self.not_implemented.messages)
        self.assertEqual('missing', matrix_status(MISSING[name]))

    # Where the suite itself does not catch NotImplementedError.

    def test_live_migration(self):
        self.assertRaises(NotImplementedError, super().test_live_migration)
        self.assertEqual('missing', matrix_status(MISSING[
            'test_live_migration']))

    def test_live_migration_force_complete(self):
        # The suite reaches into the libvirt driver's active_migrations.
        instance, _network_info = self._get_running_instance()
        self.assertRaises(NotImplementedError,
                          self.connection.live_migration_force_complete,
                          instance)
        self.assertEqual('missing', matrix_status(MISSING[
            'test_live_migration_force_complete']))

    def test_every_listed_operation_has_a_matrix_row(self):
        # Whether a row says "missing" is checked when its test meets a
        # NotImplementedError (_check_not_implemented).
        for test, row in sorted(MISSING.items()):
            self.assertTrue(hasattr(self, test), test)
            self.assertIn(matrix_status(row), ('missing', 'partial',
                                               'complete', 'unknown'), row)

    # Where the driver answers as Nova's contract wants rather than as the
    # suite expects.

    def _no_graphical_console(self, get_console):
        instance, _network_info = self._get_running_instance()
        self.assertRaises(exception.ConsoleTypeUnavailable, get_console,
                          self.ctxt, instance)
        self.assertEqual('missing', matrix_status(
            'VNC / SPICE / RDP / MKS console'))

    def test_get_vnc_console(self):
        # The API answers 400 "not available for containers", not 500.
        self._no_graphical_console(self.connection.get_vnc_console)

    def test_get_spice_console(self):
        self._no_graphical_console(self.connection.get_spice_console)

    def test_get_mks_console(self):
        self._no_graphical_console(self.connection.get_mks_console)

    def test_get_volume_connector_storage_ip(self):
        # The driver takes its configuration when it is created, as
        # nova-compute does at start: create it again with the suite's
        # [DEFAULT] my_block_storage_ip.
        self.flags(my_block_storage_ip='storage_ip', my_ip='my_ip')
        self.connection = importutils.import_object(self.driver_module,
                                                    fake.FakeVirtAPI())
        super().test_get_volume_connector_storage_ip()

    def _fake_volume_is_refused(self, power_off=False):
        # os-brick has no connector for the suite's "fake" volumes: the
        # attach fails with VolumeAttachFailed and leaves nothing behind.
        # Real volumes: tests/integration/test_volumes.py.
        instance, _network_info = self._get_running_instance()
        if power_off:
            self.connection.power_off(instance)
        self.assertRaises(exception.VolumeAttachFailed,
                          self.connection.attach_volume, None,
                          {'driver_volume_type': 'fake', 'serial': 'fake',
                           'data': {}}, instance, '/dev/sda')

    def test_attach_detach_volume(self):
        self._fake_volume_is_refused()

    def test_attach_detach_different_power_states(self):
        self._fake_volume_is_refused(power_off=True)

    def test_swap_volume(self):
        instance, _network_info = self._get_running_instance()
        self.assertRaises(NotImplementedError, self.connection.swap_volume,
                          None, {}, {}, instance, '/dev/sda', 2)
        self.assertEqual('missing', matrix_status(MISSING[
            'test_swap_volume']))

    def test_set_admin_password(self):
        # The busybox image has no chpasswd: "not supported" (409), with
        # nothing changed (tests/functional/test_admin_password.py sets one
        # for real).
        instance, _network_info = self._get_running_instance()
        self.assertRaises(exception.SetAdminPasswdNotSupported,
                          self.connection.set_admin_password, instance,
                          'p4ssw0rd')

    def _rescue(self):
        # Nova's manager hands rescue the rescue image or the server's own,
        # never the suite's empty ImageMeta: the suite's image here.
        instance, network_info = self._get_running_instance()
        image_meta = objects.ImageMeta.from_dict({
            'id': IMAGE_ID, 'container_format': 'docker',
            'disk_format': 'raw'})
        self.connection.rescue(self.ctxt, instance, network_info,
                               image_meta, '', None,
                               objects.ShareMappingList())
        return instance

    def _running(self, name):
        return self.docker.inspect_container(name)['State']['Running']

    def test_rescue(self):
        instance = self._rescue()
        self.addCleanup(self.connection.unrescue, self.ctxt, instance)
        name = translator.container_name(instance['uuid'])
        self.assertTrue(self._running(name + '-rescue'))
        self.assertFalse(self._running(name))

    def test_unrescue_rescued_instance(self):
        instance = self._rescue()
        self.connection.unrescue(self.ctxt, instance)
        self.assertTrue(self._running(
            translator.container_name(instance['uuid'])))

    # The real engine behind it.

    def test_spawn_runs_the_container_on_the_engine(self):
        instance, network_info = self._get_running_instance()
        info = self.docker.inspect_container(
            translator.container_name(instance['uuid']))
        self.assertTrue(info['State']['Running'])
        ncpu = self.docker.info()['NCPU']
        self.assertEqual(min(4, ncpu) * 10 ** 9,
                         info['HostConfig']['NanoCpus'])
        port = 'tap' + network_info[0]['id'][:11]
        self.assertIn(port, _ovs('list-ports', self.bridge).split())
