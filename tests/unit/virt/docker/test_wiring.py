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

"""network.wiring: an instance's network built, kept and removed whole.

The privileged steps (privsep.linux_net), the switch (network.vifs) and
the sandbox container are faked by one model of the host, which records
what exists: host links, plugged ports and netns links (real symlinks
under a temporary directory).  The tests check what is left on the host,
not the calls that led there.
"""

import json
import os
import stat
import types
import uuid

from nova import exception as nova_exception
from nova.network import model as network_model
import pytest

from novadocker.virt.docker.network import vifs as host_vifs
from novadocker.virt.docker.network import wiring

UUID = '0f1e2d3c-0000-4000-8000-000000000001'
INSTANCE = types.SimpleNamespace(uuid=UUID, name='instance-00000001',
                                 hostname='web', display_name='web')


class Injected(Exception):
    pass


class FakeHost(object):
    """linux_net and the switch as one model of the host."""

    def __init__(self, netns_dir):
        self.NETNS_DIR = netns_dir
        self.links = set()
        self.plugged = set()
        self.veths = []
        self.addresses = {}
        self.loopback_up = 0
        self._fail = None

    def fail(self, step, nth=1):
        """Make the ``nth`` call of ``step`` raise Injected."""
        self._fail = [step, nth]

    def _step(self, step):
        if self._fail and self._fail[0] == step:
            self._fail[1] -= 1
            if self._fail[1] == 0:
                self._fail = None
                raise Injected(step)

    # novadocker.privsep.linux_net

    def create_veth(self, host_ifname, ifname, netns_path, mac, mtu):
        self._step('create_veth')
        assert host_ifname not in self.links
        self.links.add(host_ifname)
        self.veths.append((host_ifname, ifname, netns_path, mac, mtu))

    def set_addresses(self, netns_path, ifname, addresses):
        self._step('set_addresses')
        self.addresses[ifname] = list(addresses)

    def set_routes(self, netns_path, ifname, routes):
        self._step('set_routes')

    def set_loopback_up(self, netns_path):
        self._step('set_loopback_up')
        self.loopback_up += 1

    def delete_link(self, ifname, netns_path=None):
        self.links.discard(ifname)

    def set_netns_link(self, name, pid):
        self._step('set_netns_link')
        os.makedirs(self.NETNS_DIR, exist_ok=True)
        link = os.path.join(self.NETNS_DIR, name)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink('/proc/%d/ns/net' % pid, link)

    def remove_netns_link(self, name):
        os.unlink(os.path.join(self.NETNS_DIR, name))

    def netns_links(self):
        try:
            return {n: os.readlink(os.path.join(self.NETNS_DIR, n))
                    for n in os.listdir(self.NETNS_DIR)}
        except FileNotFoundError:
            return {}

    # network.vifs

    def plug(self, instance, vif):
        self._step('plug')
        assert vif['devname'] in self.links
        self.plugged.add(vif['id'])

    def unplug(self, instance, vif):
        self._step('unplug')
        self.plugged.discard(vif['id'])


class FakeSandboxes(object):
    def __init__(self, host):
        self.pid = 4242
        self.exists = False
        self.running = False

    def ensure_running(self, instance):
        self.exists = self.running = True
        return 'sandbox-1', self.pid

    def inspect(self, instance):
        if not self.exists:
            return None
        return {'Id': 'sandbox-1', 'State': {'Running': self.running}}

    def remove(self, instance):
        existed, self.exists, self.running = self.exists, False, False
        return existed


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = FakeHost(str(tmp_path / 'netns'))
    monkeypatch.setattr(wiring, 'linux_net', fake)
    monkeypatch.setattr(wiring, 'host_vifs', types.SimpleNamespace(
        check_supported=host_vifs.check_supported,
        with_devnames=host_vifs.with_devnames, plug=fake.plug,
        unplug=fake.unplug))
    monkeypatch.setattr(wiring, '_host_link_exists',
                        lambda ifname: ifname in fake.links)
    return fake


@pytest.fixture
def network(host, tmp_path):
    net = wiring.Network(None, 'cmp1', str(tmp_path / 'instances'))
    net.sandboxes = FakeSandboxes(host)
    return net


def _vif(index, vif_type='ovs'):
    port = str(uuid.uuid4())
    subnet = network_model.Subnet(
        cidr='192.0.2.0/24',
        ips=[network_model.FixedIP(address='192.0.2.%d' % index)],
        gateway=network_model.IP(address='192.0.2.1'),
        dns=[network_model.IP(address='192.0.2.53')])
    return network_model.VIF(
        id=port, address='fa:16:3e:00:00:%02x' % index, type=vif_type,
        network=network_model.Network(id='net', bridge='br-int',
                                      subnets=[subnet], meta={'mtu': 1400}),
        devname=('tap' + port)[:network_model.NIC_NAME_LEN])


def _state_dir(network):
    return network._dir(INSTANCE)


def _assert_nothing_left(host, network):
    assert host.links == set()
    assert host.plugged == set()
    assert host.netns_links() == {}
    assert not network.sandboxes.exists
    assert not os.path.exists(_state_dir(network))


def _recorded(network):
    with open(os.path.join(_state_dir(network), wiring.STATE_FILE)) as f:
        return json.load(f)


def test_setup_wires_every_port_and_renders_the_files(host, network):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    sandbox_id, mounts = network.setup(INSTANCE, vifs)
    assert sandbox_id == 'sandbox-1'
    assert host.links == {v['devname'] for v in vifs}
    assert host.plugged == {v['id'] for v in vifs}
    assert host.netns_links() == {'nova-' + UUID: '/proc/4242/ns/net'}
    assert host.addresses == {'eth0': [('192.0.2.5', 24)],
                              'eth1': [('192.0.2.6', 24)]}
    assert host.loopback_up == 1
    assert sorted(mounts) == ['/etc/hostname', '/etc/hosts',
                              '/etc/resolv.conf']
    with open(mounts['/etc/resolv.conf']) as f:
        assert 'nameserver 192.0.2.53' in f.read()
    assert _recorded(network)['ifnames'] == {vifs[0]['id']: 'eth0',
                                             vifs[1]['id']: 'eth1'}
    # Other users of the host cannot read the instance's files.
    top = os.path.dirname(_state_dir(network))
    assert stat.S_IMODE(os.stat(top).st_mode) == 0o700


@pytest.mark.parametrize('step,nth', [
    ('set_netns_link', 1), ('create_veth', 1), ('create_veth', 2),
    ('plug', 2), ('set_addresses', 1), ('set_addresses', 2),
    ('set_routes', 1), ('set_loopback_up', 1)])
def test_teardown_after_a_failure_at_any_step_leaves_nothing(
        host, network, step, nth):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    host.fail(step, nth)
    with pytest.raises(Injected):
        network.setup(INSTANCE, vifs)
    # The build's rollback (rollback.py) calls teardown, once.
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


def test_unsupported_port_fails_before_anything_exists(host, network):
    with pytest.raises(nova_exception.VirtualInterfaceCreateException):
        network.setup(INSTANCE, network_model.NetworkInfo(
            [_vif(5), _vif(6, vif_type='bridge')]))
    _assert_nothing_left(host, network)
    assert host.veths == []


def test_teardown_removes_everything_also_ports_only_on_record(
        host, network):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    network.setup(INSTANCE, vifs)
    # Nova may no longer list a port that the instance still has.
    network.teardown(INSTANCE, network_model.NetworkInfo(vifs[:1]))
    _assert_nothing_left(host, network)
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


def test_teardown_fails_while_the_switch_keeps_a_port(host, network):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    network.setup(INSTANCE, vifs)
    host.fail('unplug')
    # The delete fails (the server goes to ERROR), the host link is gone;
    # the next delete removes the rest.
    with pytest.raises(Injected):
        network.teardown(INSTANCE, vifs)
    assert vifs[0]['devname'] not in host.links
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


def test_teardown_of_an_instance_without_ports_touches_nothing(network):
    network.sandboxes.exists = True     # somebody else's sandbox state
    network.teardown(INSTANCE, network_model.NetworkInfo())
    assert network.sandboxes.exists


def test_ensure_rewires_a_restarted_sandbox(host, network):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    network.setup(INSTANCE, vifs)
    # The sandbox came back with a new namespace: the old veths died
    # with the old one.
    network.sandboxes.pid = 5151
    host.links.clear()
    assert network.ensure(INSTANCE, vifs) == 'sandbox-1'
    assert host.netns_links() == {'nova-' + UUID: '/proc/5151/ns/net'}
    assert host.links == {v['devname'] for v in vifs}
    assert host.plugged == {v['id'] for v in vifs}
    assert len(host.veths) == 4
    assert host.loopback_up == 2


def test_ensure_of_a_wired_sandbox_only_replugs(host, network):
    vifs = network_model.NetworkInfo([_vif(5)])
    network.setup(INSTANCE, vifs)
    host.plugged.clear()
    network.ensure(INSTANCE, vifs)
    assert len(host.veths) == 1
    assert host.plugged == {vifs[0]['id']}


def test_attach_wires_the_port_as_the_next_interface(host, network):
    first, extra = _vif(5), _vif(7)
    network.setup(INSTANCE, network_model.NetworkInfo([first]))
    network.attach(INSTANCE, extra)
    assert host.plugged == {first['id'], extra['id']}
    assert _recorded(network)['ifnames'][extra['id']] == 'eth1'
    network.detach(INSTANCE, extra)
    assert host.links == {first['devname']}
    assert host.plugged == {first['id']}
    assert extra['id'] not in _recorded(network)['ifnames']


def test_attach_to_a_stopped_or_missing_sandbox_is_refused(host, network):
    with pytest.raises(nova_exception.InterfaceAttachFailed):
        network.attach(INSTANCE, _vif(7))
    network.setup(INSTANCE, network_model.NetworkInfo([_vif(5)]))
    network.sandboxes.running = False
    with pytest.raises(nova_exception.InterfaceAttachFailed):
        network.attach(INSTANCE, _vif(8))
    assert len(host.veths) == 1


def test_attach_never_takes_over_an_existing_host_link(host, network):
    network.setup(INSTANCE, network_model.NetworkInfo([_vif(5)]))
    extra = _vif(7)
    host.links.add(extra['devname'])     # somebody else's link
    with pytest.raises(nova_exception.InterfaceAttachFailed):
        network.attach(INSTANCE, extra)
    assert extra['devname'] in host.links
    assert extra['id'] not in _recorded(network)['ifnames']


@pytest.mark.parametrize('step', ['create_veth', 'plug', 'set_addresses'])
def test_attach_failure_undoes_the_port_only(host, network, step):
    first, extra = _vif(5), _vif(7)
    network.setup(INSTANCE, network_model.NetworkInfo([first]))
    host.fail(step)
    with pytest.raises(Injected):
        network.attach(INSTANCE, extra)
    assert host.links == {first['devname']}
    assert host.plugged == {first['id']}
    assert list(_recorded(network)['ifnames']) == [first['id']]


def test_unplug_takes_the_host_ends_away(host, network):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    network.setup(INSTANCE, vifs)
    network.unplug(INSTANCE, vifs)
    assert host.links == set() and host.plugged == set()
