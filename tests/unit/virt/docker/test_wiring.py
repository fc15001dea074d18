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

The privileged steps (privsep.linux_net) and the switch (network.vifs)
are faked by one model of the host, which records what exists: host
links, plugged ports and netns links (real symlinks under a temporary
directory); the container by what its ``docker inspect`` shows (its
namespace a file, as the engine's is), and the release of its held
entrypoint by the calls that reached its FIFO.  The tests check what is
left on the host, not the calls that led there.
"""

import json
import os
import stat
import types
import uuid

from nova import exception as nova_exception
from nova.network import model as network_model
import pytest

from novadocker.virt.docker.network import hold
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

    def set_netns_link(self, name, netns_path):
        self._step('set_netns_link')
        os.makedirs(self.NETNS_DIR, exist_ok=True)
        link = os.path.join(self.NETNS_DIR, name)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(netns_path, link)

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


class FakeContainer(object):
    """The instance's container: each start gets a new namespace (a file
    under ``netns_dir``, as the engine's ``SandboxKey``); its held
    entrypoint counts the releases that reached it.
    """

    def __init__(self, netns_dir):
        self.netns_dir = netns_dir
        self.running = False
        self.config = {}
        self.starts = 0
        self.released = 0
        self.waiting = False
        self.netns = None

    def create(self, args):
        self.config = {'Entrypoint': args.get('entrypoint'),
                       'Cmd': args.get('command')}

    def start(self):
        if self.netns:
            os.unlink(self.netns)
        self.starts += 1
        os.makedirs(self.netns_dir, exist_ok=True)
        self.netns = os.path.join(self.netns_dir, '%012x' % self.starts)
        open(self.netns, 'w').close()
        self.running = True
        self.waiting = hold.is_held(self.config)

    def stop(self):
        self.running = self.waiting = False
        os.unlink(self.netns)
        self.netns = None

    def inspect(self):
        return {'Id': 'c1', 'State': {'Running': self.running},
                'Config': self.config,
                'NetworkSettings': {'SandboxKey': self.netns or ''}}

    def release(self, path, timeout, running):
        if not self.waiting:
            return False
        self.waiting = False
        self.released += 1
        return True


class FakeClient(object):
    def inspect_image(self, ref):
        return {'Config': {'Entrypoint': None, 'Cmd': ['/bin/sh']}}


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
    # The engine's namespace files are plain files here.
    monkeypatch.setattr(wiring, '_is_netns', os.path.exists)
    monkeypatch.setattr(wiring, 'LINK_GONE_WAIT', 0)
    return fake


@pytest.fixture
def container(tmp_path, monkeypatch):
    fake = FakeContainer(str(tmp_path / 'engine-netns'))
    monkeypatch.setattr(wiring.hold, 'release', fake.release)
    return fake


@pytest.fixture
def network(host, container, tmp_path):
    return wiring.Network(FakeClient(), 'cmp1', str(tmp_path / 'instances'),
                          '/usr/lib/hold', 5)


ARGS = {'image': 'img', 'name': 'nova-' + UUID, 'command': ['sleep', '9'],
        'host_config': {'network_mode': 'none'}}


def _spawn(network, container, vifs):
    """What the driver's build does: prepare, create, start, wire."""
    args = network.prepare(INSTANCE, vifs, ARGS)
    container.create(args)
    container.start()
    network.wire(INSTANCE, vifs, container.inspect, new=True)
    return args


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
    assert not os.path.exists(_state_dir(network))


def _recorded(network):
    with open(os.path.join(_state_dir(network), wiring.STATE_FILE)) as f:
        return json.load(f)


def test_spawn_wires_every_port_then_releases_the_entrypoint(
        host, network, container):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    args = _spawn(network, container, vifs)
    assert args['entrypoint'] == [hold.PROGRAM_TARGET, hold.FIFO_TARGET]
    assert args['command'] == ['sleep', '9']
    assert args['host_config']['network_mode'] == 'none'
    assert args['host_config']['sysctls'] == wiring.SYSCTLS
    assert container.released == 1
    assert host.links == {v['devname'] for v in vifs}
    assert host.plugged == {v['id'] for v in vifs}
    assert host.netns_links() == {'nova-' + UUID: container.netns}
    assert host.addresses == {'eth0': [('192.0.2.5', 24)],
                              'eth1': [('192.0.2.6', 24)]}
    assert host.loopback_up == 1
    mounts = {m['Target']: m['Source']
              for m in args['host_config']['mounts']}
    assert sorted(mounts) == [hold.PROGRAM_TARGET, hold.FIFO_TARGET,
                              '/etc/hostname', '/etc/hosts',
                              '/etc/resolv.conf']
    assert mounts[hold.PROGRAM_TARGET] == '/usr/lib/hold'
    assert stat.S_ISFIFO(os.stat(mounts[hold.FIFO_TARGET]).st_mode)
    with open(mounts['/etc/resolv.conf']) as f:
        assert 'nameserver 192.0.2.53' in f.read()
    assert _recorded(network)['ifnames'] == {vifs[0]['id']: 'eth0',
                                             vifs[1]['id']: 'eth1'}
    # Other users of the host cannot read the instance's files.
    top = os.path.dirname(_state_dir(network))
    assert stat.S_IMODE(os.stat(top).st_mode) == 0o700


def test_a_container_that_did_not_wait_fails_the_start(host, network,
                                                       container):
    vifs = network_model.NetworkInfo([_vif(5)])
    network.prepare(INSTANCE, vifs, ARGS)
    container.create(hold.wrap(ARGS, {}, '/h', '/f'))
    container.start()
    container.waiting = False        # its holder is gone
    with pytest.raises(wiring.HoldNotReleased):
        network.wire(INSTANCE, vifs, container.inspect, new=True)
    container.stop()
    with pytest.raises(wiring.HoldNotReleased):
        network.wire(INSTANCE, vifs, container.inspect)
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


@pytest.mark.parametrize('step,nth', [
    ('set_netns_link', 1), ('create_veth', 1), ('create_veth', 2),
    ('plug', 2), ('set_addresses', 1), ('set_addresses', 2),
    ('set_routes', 1), ('set_loopback_up', 1)])
def test_teardown_after_a_failure_at_any_step_leaves_nothing(
        host, network, container, step, nth):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    host.fail(step, nth)
    with pytest.raises(Injected):
        _spawn(network, container, vifs)
    assert container.released == 0
    # The build's rollback (rollback.py) removes the container (its
    # namespace goes with it), then calls teardown, once.
    container.stop()
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


def test_unsupported_port_fails_before_anything_exists(host, network):
    with pytest.raises(nova_exception.VirtualInterfaceCreateException):
        network.prepare(INSTANCE, network_model.NetworkInfo(
            [_vif(5), _vif(6, vif_type='bridge')]), ARGS)
    _assert_nothing_left(host, network)
    assert host.veths == []


def test_teardown_removes_everything_also_ports_only_on_record(
        host, network, container):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    _spawn(network, container, vifs)
    container.stop()
    # Nova may no longer list a port that the instance still has.
    network.teardown(INSTANCE, network_model.NetworkInfo(vifs[:1]))
    _assert_nothing_left(host, network)
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


def test_teardown_fails_while_the_switch_keeps_a_port(
        host, network, container):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    _spawn(network, container, vifs)
    container.stop()
    host.fail('unplug')
    # The delete fails (the server goes to ERROR), the host link is gone;
    # the next delete removes the rest.
    with pytest.raises(Injected):
        network.teardown(INSTANCE, vifs)
    assert vifs[0]['devname'] not in host.links
    network.teardown(INSTANCE, vifs)
    _assert_nothing_left(host, network)


def test_teardown_of_an_instance_without_ports_touches_nothing(
        host, network):
    network.teardown(INSTANCE, network_model.NetworkInfo())
    assert not os.path.exists(os.path.dirname(_state_dir(network)))


def test_every_start_rewires_the_new_namespace_before_the_entrypoint(
        host, network, container):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    _spawn(network, container, vifs)
    # Stopped: the veths died with the namespace.
    container.stop()
    host.links.clear()
    container.start()
    # Recorded ports (unrescue and restore have no network_info).
    network.wire(INSTANCE, None, container.inspect)
    assert container.released == 2
    assert host.netns_links() == {'nova-' + UUID: container.netns}
    assert host.links == {v['devname'] for v in vifs}
    assert host.plugged == {v['id'] for v in vifs}
    assert len(host.veths) == 4
    assert host.loopback_up == 2


def test_ensure_of_a_wired_container_only_replugs(host, network, container):
    vifs = network_model.NetworkInfo([_vif(5)])
    _spawn(network, container, vifs)
    host.plugged.clear()
    network.ensure(INSTANCE, vifs, container.inspect)
    assert len(host.veths) == 1
    assert host.plugged == {vifs[0]['id']}
    assert container.released == 1


def test_ensure_releases_an_entrypoint_still_held(host, network, container):
    # nova-compute stopped between the start and the release; at its
    # restart plug_vifs wires the namespace and releases the entrypoint.
    vifs = network_model.NetworkInfo([_vif(5)])
    network.prepare(INSTANCE, vifs, ARGS)
    container.create(hold.wrap(ARGS, {}, '/h', '/f'))
    container.start()
    network.ensure(INSTANCE, vifs, container.inspect)
    assert container.released == 1
    assert host.links == {vifs[0]['devname']}


def test_ensure_of_a_stopped_container_wires_nothing(host, network,
                                                     container):
    vifs = network_model.NetworkInfo([_vif(5)])
    _spawn(network, container, vifs)
    container.stop()
    host.links.clear()
    network.ensure(INSTANCE, vifs, container.inspect)
    assert host.links == set()


def test_attach_wires_the_port_as_the_next_interface(host, network,
                                                     container):
    first, extra = _vif(5), _vif(7)
    _spawn(network, container, network_model.NetworkInfo([first]))
    network.attach(INSTANCE, extra, container.inspect())
    assert host.plugged == {first['id'], extra['id']}
    assert _recorded(network)['ifnames'][extra['id']] == 'eth1'
    assert host.veths[-1][2] == container.netns
    network.detach(INSTANCE, extra)
    assert host.links == {first['devname']}
    assert host.plugged == {first['id']}
    assert extra['id'] not in _recorded(network)['ifnames']


def test_attach_to_a_stopped_or_portless_container_is_refused(
        host, network, container):
    container.start()       # built without ports: not held
    with pytest.raises(nova_exception.InterfaceAttachFailed):
        network.attach(INSTANCE, _vif(7), container.inspect())
    _spawn(network, container, network_model.NetworkInfo([_vif(5)]))
    container.stop()
    with pytest.raises(nova_exception.InterfaceAttachFailed):
        network.attach(INSTANCE, _vif(8), container.inspect())
    assert len(host.veths) == 1


def test_attach_never_takes_over_an_existing_host_link(host, network,
                                                       container):
    _spawn(network, container, network_model.NetworkInfo([_vif(5)]))
    extra = _vif(7)
    host.links.add(extra['devname'])     # somebody else's link
    with pytest.raises(nova_exception.InterfaceAttachFailed):
        network.attach(INSTANCE, extra, container.inspect())
    assert extra['devname'] in host.links
    assert extra['id'] not in _recorded(network)['ifnames']


@pytest.mark.parametrize('step', ['create_veth', 'plug', 'set_addresses'])
def test_attach_failure_undoes_the_port_only(host, network, container, step):
    first, extra = _vif(5), _vif(7)
    _spawn(network, container, network_model.NetworkInfo([first]))
    host.fail(step)
    with pytest.raises(Injected):
        network.attach(INSTANCE, extra, container.inspect())
    assert host.links == {first['devname']}
    assert host.plugged == {first['id']}
    assert list(_recorded(network)['ifnames']) == [first['id']]


def test_unplug_takes_the_host_ends_away(host, network, container):
    vifs = network_model.NetworkInfo([_vif(5), _vif(6)])
    _spawn(network, container, vifs)
    network.unplug(INSTANCE, vifs)
    assert host.links == set() and host.plugged == set()


def test_check_wants_a_program_every_user_may_run(network, tmp_path):
    program = tmp_path / 'hold'
    network._hold_program = str(program)
    with pytest.raises(wiring.HoldProgramMissing):
        network.check()
    program.write_bytes(b'\x7fELF')
    program.chmod(0o750)
    with pytest.raises(wiring.HoldProgramMissing):
        network.check()
    program.chmod(0o755)
    network.check()


def test_a_namespace_file_is_told_from_a_plain_file(tmp_path):
    plain = tmp_path / 'stale'
    plain.write_text('')
    assert not wiring._is_netns(str(plain))
    assert not wiring._is_netns(str(tmp_path / 'missing'))
    assert wiring._is_netns('/proc/self/ns/net')


def test_release_removes_our_link_while_the_engine_keeps_the_namespace(
        host, network, container):
    # Moved to another host: the container is removed; the engine may
    # unmount its namespace file only later. A link of ours to another
    # namespace stays.
    vifs = network_model.NetworkInfo([_vif(5)])
    _spawn(network, container, vifs)
    host.links.clear()
    network.release(INSTANCE, vifs)
    assert host.netns_links() == {}
    assert not os.path.exists(_state_dir(network))
    _spawn(network, container, vifs)
    with open(os.path.join(_state_dir(network), wiring.NETNS_FILE), 'w') as f:
        f.write('/elsewhere/netns/0123456789ab')
    network.release(INSTANCE, vifs)
    assert host.netns_links() == {'nova-' + UUID: container.netns}
