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

import contextlib

from nova import exception
from nova import test

from novadocker.virt.docker.network import vifwait

VIFS = [{'id': 'p1', 'active': False}, {'id': 'p2', 'active': True},
        {'id': 'p3'}]


class _VirtAPI(object):
    def __init__(self, outcome=None):
        self.outcome = outcome
        self.waited = None

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, events, timeout,
                                error_callback):
        self.waited = (events, timeout)
        yield
        if self.outcome == 'timeout':
            raise exception.InstanceEventTimeout()
        if self.outcome == 'failed':
            error_callback('network-vif-plugged-p1', instance)


class _Network(object):
    def __init__(self, fail=False):
        self.fail = fail
        self.torn_down = False

    def wire(self):
        if self.fail:
            raise RuntimeError('wiring failed')
        return 'wired'

    def teardown(self, instance, network_info):
        self.torn_down = True


class VifWaitTestCase(test.NoDBTestCase):
    def test_waits_only_for_inactive_ports(self):
        self.assertEqual([('network-vif-plugged', 'p1')],
                         vifwait.plugged_events(VIFS, 300))
        self.assertEqual([], vifwait.plugged_events(VIFS, 0))

    def test_plugged(self):
        virtapi, network = _VirtAPI(), _Network()
        result = vifwait.setup(virtapi, 'inst', VIFS, 300, True,
                               network.wire)
        self.assertEqual('wired', result)
        self.assertEqual(([('network-vif-plugged', 'p1')], 300),
                         virtapi.waited)
        self.assertFalse(network.torn_down)

    # On failure the build's rollback (rollback.py) tears the network
    # down, once: vifwait leaves it alone.

    def test_fatal_timeout_aborts_the_build(self):
        network = _Network()
        self.assertRaises(exception.VirtualInterfaceCreateException,
                          vifwait.setup, _VirtAPI('timeout'), 'inst', VIFS,
                          300, True, network.wire)
        self.assertFalse(network.torn_down)

    def test_timeout_not_fatal_goes_on(self):
        network = _Network()
        result = vifwait.setup(_VirtAPI('timeout'), 'inst', VIFS, 300,
                               False, network.wire)
        self.assertEqual('wired', result)
        self.assertFalse(network.torn_down)

    def test_neutron_failure_is_fatal(self):
        network = _Network()
        self.assertRaises(exception.VirtualInterfaceCreateException,
                          vifwait.setup, _VirtAPI('failed'), 'inst', VIFS,
                          300, True, network.wire)
        self.assertFalse(network.torn_down)

    def test_wiring_failure_passes_through(self):
        network = _Network(fail=True)
        self.assertRaises(RuntimeError, vifwait.setup, _VirtAPI(), 'inst',
                          VIFS, 300, True, network.wire)
        self.assertFalse(network.torn_down)
