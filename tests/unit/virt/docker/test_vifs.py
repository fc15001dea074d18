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

"""Host-side plugging by VIF type (os-vif and the vrouter tool mocked:
their real runs are in tests/integration/test_network*.py)."""

from unittest import mock

from nova import exception
from nova.network import model
from nova import objects
from os_vif import exception as osvif_exception
import pytest

from novadocker.virt.docker.network import vifs

# What os_vif.initialize() does first (without loading the plugins).
vifs.os_vif.objects.register_all()


def _vif(vif_type, **details):
    return model.VIF(id='p-1', address='fa:16:3e:00:00:01', type=vif_type,
                     devname='tapp-1', details=details,
                     network=model.Network(id='n-1', bridge='br-int',
                                           subnets=[]))


objects.register_all()
INSTANCE = objects.Instance(uuid='9b2c6a52-3b8e-4d0f-9a3e-0c1f6f2f1a11',
                            id=1, project_id='pr', display_name='web')


@pytest.mark.parametrize('vif_type', ['bridge', 'macvtap', 'vhostuser',
                                      'binding_failed', 'other'])
def test_unsupported_types_are_refused(vif_type):
    with pytest.raises(exception.VirtualInterfaceCreateException):
        vifs.check_supported(_vif(vif_type), INSTANCE)


def test_a_port_without_device_name_gets_neutrons_name():
    # As nova's Neutron code names every port: "tap" + the port's ID, 14
    # characters in all.
    vif = _vif('ovs')
    vif['id'] = '51a9642b-1414-4bd6-9a92-1320ddc55a63'
    vif['devname'] = None
    named = vifs.with_devnames(model.NetworkInfo([vif, _vif('tap')]))
    assert [v['devname'] for v in named] == ['tap51a9642b-14', 'tapp-1']
    assert vif['devname'] is None
    assert isinstance(named, model.NetworkInfo)
    assert named[0]['network']['bridge'] == 'br-int'


def test_tap_is_left_for_the_agent():
    with mock.patch.object(vifs.os_vif, 'plug', autospec=True) as plug:
        vifs.plug(INSTANCE, _vif('tap'))
    plug.assert_not_called()


def test_vrouter_missing_tool_is_a_clear_error():
    with mock.patch.object(vifs.shutil, 'which', return_value=None,
                           autospec=True):
        with pytest.raises(exception.VirtualInterfaceCreateException):
            vifs.plug(INSTANCE, _vif('vrouter'))


def test_vrouter_runs_its_tool_with_an_argument_list():
    with mock.patch.object(vifs.shutil, 'which',
                           return_value='/usr/bin/vrouter-port-control',
                           autospec=True), \
            mock.patch.object(vifs.processutils, 'execute',
                              autospec=True) as execute:
        vifs.plug(INSTANCE, _vif('vrouter'))
    args = execute.call_args[0]
    assert args[0] == '/usr/bin/vrouter-port-control'
    assert '--oper=add' in args and '--tap_name=tapp-1' in args
    assert '--uuid=p-1' in args
    assert '--instance_uuid=%s' % INSTANCE.uuid in args
    assert execute.call_args[1] == {}


def test_ovs_always_asks_os_vif_to_create_the_port():
    with mock.patch.object(vifs, '_initialize_os_vif', autospec=True), \
            mock.patch.object(vifs.os_vif, 'plug', autospec=True) as plug:
        vifs.plug(INSTANCE, _vif('ovs'))
    osvif = plug.call_args[0][0]
    assert osvif.vif_name == 'tapp-1'
    assert osvif.port_profile.create_port is True


def test_hybrid_ovs_puts_the_host_end_on_qbr():
    with mock.patch.object(vifs, '_initialize_os_vif', autospec=True), \
            mock.patch.object(vifs.os_vif, 'plug', autospec=True), \
            mock.patch.object(vifs.linux_net, 'add_bridge_port',
                              autospec=True) as add:
        vifs.plug(INSTANCE, _vif('ovs', ovs_hybrid_plug=True))
    add.assert_called_once_with('qbrp-1', 'tapp-1')


def _unplug_failing(*errors):
    """Patches os_vif.unplug to raise UnplugException wrapping each of
    ``errors`` in turn, then to succeed.
    """
    effects = [osvif_exception.UnplugException(vif='v', err=err)
               for err in errors] + [None]
    return mock.patch.object(vifs.os_vif, 'unplug', autospec=True,
                             side_effect=effects)


def _vanished():
    return osvif_exception.NetworkInterfaceNotFound(interface='tapp-1')


def test_ovs_unplug_tries_again_when_the_device_vanished_under_os_vif():
    # os-vif saw the host end exist, then the kernel freed the removed
    # container's namespace (and the veth) before os-vif deleted it.
    with mock.patch.object(vifs, '_initialize_os_vif', autospec=True), \
            _unplug_failing(_vanished()) as unplug:
        vifs.unplug(INSTANCE, _vif('ovs'))
    assert unplug.call_count == 2
    assert unplug.call_args[0][0].vif_name == 'tapp-1'


def test_ovs_unplug_tries_a_bounded_number_of_times():
    errors = [_vanished()] * vifs.OS_VIF_UNPLUG_TRIES
    with mock.patch.object(vifs, '_initialize_os_vif', autospec=True), \
            _unplug_failing(*errors) as unplug:
        with pytest.raises(osvif_exception.UnplugException):
            vifs.unplug(INSTANCE, _vif('ovs'))
    assert unplug.call_count == vifs.OS_VIF_UNPLUG_TRIES


def test_ovs_unplug_other_failures_are_raised_at_once():
    with mock.patch.object(vifs, '_initialize_os_vif', autospec=True), \
            _unplug_failing(RuntimeError('ovsdb timeout')) as unplug:
        with pytest.raises(osvif_exception.UnplugException):
            vifs.unplug(INSTANCE, _vif('ovs'))
    assert unplug.call_count == 1
