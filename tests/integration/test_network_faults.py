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

"""A failure at any step of wiring a new instance leaves nothing behind.

Each step that cannot be made to fail for real (the kernel, OVS and
Docker all work here) is made to raise by replacing its entrypoint; the
steps before it run for real, so there is real state to clean up.
"""

from unittest import mock

import os_vif
import pytest

from novadocker.privsep import linux_net
from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import exception as docker_exception
from novadocker.virt.docker.network import hold
from tests.integration import network_support as support


class Injected(Exception):
    pass


def _docker_fault(method):
    """Make DockerClient.<method> fail for the instance's container."""
    real = getattr(docker_client.DockerClient, method)

    def fail_for_one(self, *args, **kwargs):
        ref = kwargs.get('name') or (args[0] if args else '')
        if not ref.startswith('nova-'):
            ref = self.inspect_container(ref)['Name'].lstrip('/')
        if ref.startswith('nova-'):
            raise docker_exception.DockerServerError(what=method,
                                                     reason='injected')
        return real(self, *args, **kwargs)
    return mock.patch.object(docker_client.DockerClient, method,
                             fail_for_one)


STEPS = {
    'netns link': lambda: mock.patch.object(
        linux_net, 'set_netns_link', side_effect=Injected, autospec=True),
    'veth': lambda: mock.patch.object(
        linux_net, 'create_veth', side_effect=Injected, autospec=True),
    'ovs plug': lambda: mock.patch.object(
        os_vif, 'plug', side_effect=Injected, autospec=True),
    'addresses': lambda: mock.patch.object(
        linux_net, 'set_addresses', side_effect=Injected, autospec=True),
    'routes': lambda: mock.patch.object(
        linux_net, 'set_routes', side_effect=Injected, autospec=True),
    'loopback': lambda: mock.patch.object(
        linux_net, 'set_loopback_up', side_effect=Injected, autospec=True),
    'workload create': lambda: _docker_fault('create_container'),
    'workload start': lambda: _docker_fault('start'),
    # The container's holder never opened its FIFO.
    'release': lambda: mock.patch.object(
        hold, 'release', return_value=False, autospec=True),
}


@pytest.mark.parametrize('step', sorted(STEPS))
def test_fault_at_each_step_leaves_nothing(step, booted, bridge,
                                           docker_api):
    # The second VIF fails after the first one is completely wired.
    vifs = [support.vif(bridge, 60, 0x60), support.vif(bridge, 61, net=1)]
    with STEPS[step]():
        with pytest.raises(Exception):
            booted.boot('faulty', vifs)
    inst = booted.booted[-1][0]
    assert support.leftovers(docker_api, inst, vifs, bridge) == []


def test_unsupported_vif_type_aborts_before_anything(booted, bridge,
                                                     docker_api):
    from nova import exception
    vifs = [support.vif(bridge, 62, vif_type='bridge')]
    with pytest.raises(exception.VirtualInterfaceCreateException):
        booted.boot('bridged', vifs)
    inst = booted.booted[-1][0]
    assert support.leftovers(docker_api, inst, vifs, bridge) == []


def test_vrouter_without_its_tool_is_a_clear_error(booted, bridge,
                                                   docker_api):
    from nova import exception
    vifs = [support.vif(bridge, 63, vif_type='vrouter')]
    with pytest.raises(exception.VirtualInterfaceCreateException):
        booted.boot('contrail', vifs)
    inst = booted.booted[-1][0]
    assert support.leftovers(docker_api, inst, vifs, bridge) == []
