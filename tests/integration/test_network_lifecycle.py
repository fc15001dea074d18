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

"""The network survives reboots and restarts, follows Neutron's events,
and takes ports added and removed while the instance runs.
"""

import threading
import time
from unittest import mock

import nova.conf
from nova import exception
from nova import objects
import pytest

from novadocker.privsep import linux_net
from tests.integration import network_support as support

CONF = nova.conf.CONF


def _ping(booted, inst, address):
    ping = 'ping6' if ':' in address else 'ping'
    return booted.run(inst, ping, '-c', '1', '-W', '3', address)[0] == 0


@pytest.fixture
def pair(booted, bridge):
    """Two instances on one network: (a, b, vifs of a, vifs of b)."""
    vifs_a = [support.vif(bridge, 70, 0x70)]
    vifs_b = [support.vif(bridge, 71, 0x71)]
    a = booted.boot('a', vifs_a)
    b = booted.boot('b', vifs_b)
    assert _ping(booted, a, '192.0.2.71')
    return a, b, vifs_a, vifs_b


def _pid(api, inst):
    return api.inspect_container('nova-%s' % inst.uuid)['State']['Pid']


# The entrypoint writes down the network it found, then waits.
AT_START = ('sh -c "ip -o addr > /tmp/at-start; ip route >> /tmp/at-start;'
            ' cat /etc/resolv.conf >> /tmp/at-start; exec sleep 3600"')


def _pid1(booted, inst):
    return booted.ok(inst, 'cat', '/proc/1/cmdline').split('\0')[0]


def _seen_at_start(booted, inst):
    """What the entrypoint of the container's last start found, once it
    has executed its final command.
    """
    deadline = time.monotonic() + 30
    while _pid1(booted, inst) != 'sleep':
        assert time.monotonic() < deadline, _pid1(booted, inst)
        time.sleep(0.1)
    return booted.ok(inst, 'cat', '/tmp/at-start')


@pytest.mark.parametrize('reboot_type', ['SOFT', 'HARD'])
def test_reboot_keeps_connectivity(reboot_type, booted, pair, docker_api):
    a, b, vifs_a, _vifs_b = pair
    pid = _pid(docker_api, a)
    booted.driver.reboot(None, a, vifs_a, reboot_type)
    assert _pid(docker_api, a) != pid
    assert _ping(booted, a, '192.0.2.71')
    assert _ping(booted, a, '2001:db8::71')


def test_entrypoint_runs_with_the_whole_network_on_every_start(
        booted, bridge):
    vifs = [support.vif(bridge, 74, 0x74), support.vif(bridge, 75, net=1)]
    inst = booted.boot('held', vifs, command=AT_START)

    def complete():
        seen = _seen_at_start(booted, inst)
        for wanted in ('192.0.2.74/24', '2001:db8::74/64',
                       '198.51.100.75/24', 'default via 192.0.2.1',
                       'nameserver 192.0.2.53'):
            assert wanted in seen
    complete()
    booted.driver.reboot(None, inst, vifs, 'HARD')
    complete()
    booted.driver.power_off(inst)
    booted.driver.power_on(None, inst, vifs)
    complete()


def test_power_off_then_on_keeps_connectivity(booted, pair):
    a, b, vifs_a, _vifs_b = pair
    booted.driver.power_off(a)
    booted.driver.power_on(None, a, vifs_a)
    assert _ping(booted, a, '192.0.2.71')


def test_new_driver_keeps_a_working_network(booted, pair, docker_api):
    a, b, vifs_a, vifs_b = pair
    pid = _pid(docker_api, a)
    driver = support.new_driver()
    driver.init_host(CONF.host)
    driver.plug_vifs(a, vifs_a)
    driver.plug_vifs(b, vifs_b)
    assert _pid(docker_api, a) == pid
    assert _ping(booted, a, '192.0.2.71')
    assert _ping(booted, b, '2001:db8::70')


def test_restart_of_docker_restores_network(booted, pair, docker_api):
    """dockerd restarts (without live restore): every container stops.
    A new nova-compute re-plugs and restarts the instances.
    """
    a, b, vifs_a, vifs_b = pair
    for inst in (a, b):
        docker_api.kill('nova-%s' % inst.uuid)
    driver = support.new_driver()
    driver.init_host(CONF.host)
    for inst, vifs in ((a, vifs_a), (b, vifs_b)):
        driver.plug_vifs(inst, vifs)
        driver.resume_state_on_host_boot(None, inst, vifs, None)
    assert _ping(booted, a, '192.0.2.71')
    assert _ping(booted, b, '2001:db8::70')
    out = support.run('ip', 'netns', 'exec', 'nova-%s' % a.uuid, 'ip',
                      '-o', 'addr').stdout
    assert '192.0.2.70/24' in out


def test_start_behind_the_drivers_back_holds_until_wired(
        booted, bridge, docker_api):
    """Started by someone else (docker start), the entrypoint waits for
    the driver: nova-compute's start-up (plug_vifs) wires and releases.
    """
    vifs = [support.vif(bridge, 76, 0x76)]
    inst = booted.boot('outside', vifs, command=AT_START)
    booted.driver.power_off(inst)
    docker_api.start('nova-%s' % inst.uuid)
    time.sleep(0.5)
    assert _pid1(booted, inst) == '/dev/.novadocker/hold'
    booted.driver.plug_vifs(inst, vifs)
    assert '192.0.2.76/24' in _seen_at_start(booted, inst)


def test_attach_then_detach(booted, pair, bridge, docker_api):
    a, b, vifs_a, _vifs_b = pair
    extra = support.vif(bridge, 72, net=1)
    booted.driver.attach_interface(None, a, None, extra)
    assert '198.51.100.72/24' in booted.ok(a, 'ip', 'addr', 'show', 'eth1')
    assert extra['devname'] in support.ovs_ports(bridge)
    resolv = booted.ok(a, 'cat', '/etc/resolv.conf')
    assert 'nameserver 198.51.100.53' in resolv
    assert _ping(booted, a, '192.0.2.71')

    booted.driver.detach_interface(None, a, extra)
    code, _out = booted.run(a, 'ip', 'link', 'show', 'eth1')
    assert code != 0
    assert not support.host_link_exists(extra['devname'])
    assert extra['devname'] not in support.ovs_ports(bridge)
    assert _ping(booted, a, '192.0.2.71')

    booted.driver.destroy(None, a, vifs_a)
    assert support.leftovers(docker_api, a, vifs_a + [extra]) == []


def test_attach_refuses_a_taken_device_name(booted, pair, bridge,
                                            docker_api):
    a, b, vifs_a, _vifs_b = pair
    clash = support.vif(bridge, 73)
    support.run('ip', 'link', 'add', clash['devname'], 'type', 'veth',
                'peer', 'name', 'ndpeer%s' % clash['id'][:8])
    try:
        with pytest.raises(exception.InterfaceAttachFailed):
            booted.driver.attach_interface(None, a, None, clash)
        # Not ours: left alone.
        assert support.host_link_exists(clash['devname'])
    finally:
        support.run('ip', 'link', 'del', clash['devname'])
    assert booted.ok(a, 'ip', '-o', 'link').count(': eth') == 1
    assert clash['devname'] not in support.ovs_ports(bridge)


def test_attach_failure_midway_leaves_nothing(booted, pair, bridge,
                                              docker_api):
    a, b, vifs_a, _vifs_b = pair
    extra = support.vif(bridge, 74, net=1)
    with mock.patch.object(linux_net, 'set_addresses',
                           side_effect=RuntimeError('injected'),
                           autospec=True):
        with pytest.raises(exception.InterfaceAttachFailed):
            booted.driver.attach_interface(None, a, None, extra)
    assert booted.ok(a, 'ip', '-o', 'link').count(': eth') == 1
    assert not support.host_link_exists(extra['devname'])
    assert extra['devname'] not in support.ovs_ports(bridge)
    assert _ping(booted, a, '192.0.2.71')


def _post_event(api, inst, vif, status='completed'):
    event = objects.InstanceExternalEvent(
        name='network-vif-plugged', tag=vif['id'], status=status)
    popped = api._compute.instance_events.pop_instance_event(inst, event)
    assert popped is not None
    popped.set(event)


def test_waits_for_vif_plugged(booted, bridge, docker_api):
    CONF.set_override('vif_plugging_timeout', 30)
    try:
        vifs = [support.vif(bridge, 80, active=False)]
        api = booted.driver.virtapi
        inst_holder = {}
        real_boot_instance = support.instance

        def post_when_ready():
            while not api._compute.instance_events._events:
                threading.Event().wait(0.05)
            uuid = next(iter(api._compute.instance_events._events))
            inst_holder['uuid'] = uuid
            _post_event(api, objects.Instance(uuid=uuid), vifs[0])

        poster = threading.Thread(target=post_when_ready, daemon=True)
        poster.start()
        inst = booted.boot('waiter', vifs)
        poster.join(10)
        assert inst_holder['uuid'] == inst.uuid
        assert real_boot_instance is support.instance
        assert '192.0.2.80/24' in booted.ok(inst, 'ip', 'addr')
    finally:
        CONF.clear_override('vif_plugging_timeout')


@pytest.mark.parametrize('fatal', [True, False])
def test_vif_plugged_timeout(fatal, booted, bridge, docker_api):
    CONF.set_override('vif_plugging_timeout', 1)
    CONF.set_override('vif_plugging_is_fatal', fatal)
    try:
        vifs = [support.vif(bridge, 81, active=False)]
        if fatal:
            with pytest.raises(exception.VirtualInterfaceCreateException):
                booted.boot('late', vifs)
            inst = booted.booted[-1][0]
            assert support.leftovers(docker_api, inst, vifs, bridge) == []
        else:
            inst = booted.boot('late', vifs)
            assert '192.0.2.81/24' in booted.ok(inst, 'ip', 'addr')
    finally:
        CONF.clear_override('vif_plugging_timeout')
        CONF.clear_override('vif_plugging_is_fatal')


def test_failed_vif_plugged_event_is_fatal(booted, bridge, docker_api):
    CONF.set_override('vif_plugging_timeout', 30)
    try:
        vifs = [support.vif(bridge, 82, active=False)]
        api = booted.driver.virtapi

        def post_failure():
            while not api._compute.instance_events._events:
                threading.Event().wait(0.05)
            uuid = next(iter(api._compute.instance_events._events))
            _post_event(api, objects.Instance(uuid=uuid), vifs[0],
                        status='failed')

        threading.Thread(target=post_failure, daemon=True).start()
        with pytest.raises(exception.VirtualInterfaceCreateException):
            booted.boot('refused', vifs)
        inst = booted.booted[-1][0]
        assert support.leftovers(docker_api, inst, vifs, bridge) == []
    finally:
        CONF.clear_override('vif_plugging_timeout')
