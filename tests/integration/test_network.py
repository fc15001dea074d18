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

"""The driver's Neutron wiring on real Docker, privsep and Open vSwitch.

Runs as root with ``ovs-vswitchd`` up (userspace datapath); see
``doc/networking.rst``.
"""

from novadocker.virt.docker.network import hold
from tests.integration import network_support as support


def _ping(booted, inst, address):
    ping = 'ping6' if ':' in address else 'ping'
    return booted.run(inst, ping, '-c', '1', '-W', '3', address)


def test_two_instances_talk_over_ipv4_and_ipv6(booted, bridge, docker_api):
    vif_a = support.vif(bridge, 10, 0x10)
    vif_b = support.vif(bridge, 11, 0x11)
    a = booted.boot('alpha', [vif_a])
    b = booted.boot('beta', [vif_b])

    assert _ping(booted, a, '192.0.2.11')[0] == 0
    assert _ping(booted, b, '192.0.2.10')[0] == 0
    assert _ping(booted, a, '2001:db8:0::11')[0] == 0
    assert _ping(booted, b, '2001:db8:0::10')[0] == 0

    # Both host ends are OVS ports carrying Neutron's external_ids.
    assert support.ovs_ports(bridge) == {vif_a['devname'], vif_b['devname']}
    ids = support.ovs('get', 'Interface', vif_a['devname'], 'external_ids')
    assert vif_a['id'] in ids and a.uuid in ids


def test_inside_view(booted, bridge, docker_api):
    vif0 = support.vif(bridge, 20, 0x20, mtu=1400)
    vif1 = support.vif(bridge, 21, net=1, mtu=1380, gateway=False)
    inst = booted.boot('gamma', [vif0, vif1])

    links = booted.ok(inst, 'ip', '-o', 'link')
    assert 'eth0' in links and 'eth1' in links
    eth0 = booted.ok(inst, 'ip', 'link', 'show', 'eth0')
    assert 'mtu 1400' in eth0 and vif0['address'] in eth0
    eth1 = booted.ok(inst, 'ip', 'link', 'show', 'eth1')
    assert 'mtu 1380' in eth1 and vif1['address'] in eth1
    assert 'LOOPBACK,UP' in booted.ok(inst, 'ip', 'link', 'show', 'lo')

    addrs = booted.ok(inst, 'ip', 'addr')
    assert '192.0.2.20/24' in addrs
    assert '2001:db8::20/64' in addrs
    assert '198.51.100.21/24' in addrs
    assert 'tentative' not in addrs.split('2001:db8::20/64')[1].split(
        '\n')[0]

    routes = booted.ok(inst, 'ip', 'route')
    assert 'default via 192.0.2.1 dev eth0' in routes
    assert '203.0.113.0/25 via 192.0.2.254 dev eth0' in routes
    assert '203.0.113.128/25 via 198.51.100.254 dev eth1' in routes
    assert routes.count('default') == 1
    routes6 = booted.ok(inst, 'ip', '-6', 'route')
    assert 'default via 2001:db8::1 dev eth0' in routes6

    resolv = booted.ok(inst, 'cat', '/etc/resolv.conf')
    assert 'nameserver 192.0.2.53' in resolv
    assert 'nameserver 198.51.100.53' in resolv
    hosts = booted.ok(inst, 'cat', '/etc/hosts')
    assert '192.0.2.20\tgamma' in hosts
    assert booted.ok(inst, 'hostname').strip() == 'gamma'
    # Read-only mounts: the workload cannot rewrite them.
    code, _out = booted.run(inst, 'touch', '/etc/resolv.conf')
    assert code != 0

    # The namespace is reachable for operators as /var/run/netns/nova-<uuid>.
    out = support.run('ip', 'netns', 'exec', 'nova-%s' % inst.uuid,
                      'ip', '-o', 'addr').stdout
    assert '192.0.2.20/24' in out


def test_entrypoint_starts_with_its_network(booted, bridge, docker_api):
    """The workload's very first command already sees its address."""
    inst = booted.boot('delta', [support.vif(bridge, 30)],
                       command="sh -c 'ip -o addr show eth0 > /tmp/first; "
                               "exec sleep 3600'")
    assert '192.0.2.30/24' in booted.ok(inst, 'cat', '/tmp/first')
    info = docker_api.inspect_container('nova-%s' % inst.uuid)
    # One container: its own namespace, its entrypoint held until wired.
    assert info['HostConfig']['NetworkMode'] == 'none'
    assert info['Config']['Entrypoint'][0] == hold.PROGRAM_TARGET


def test_destroy_leaves_nothing(booted, bridge, docker_api):
    vifs = [support.vif(bridge, 40, 0x40), support.vif(bridge, 41, net=1)]
    inst = booted.boot('epsilon', vifs)
    assert support.leftovers(docker_api, inst, vifs, bridge)
    booted.driver.destroy(None, inst, vifs)
    assert support.leftovers(docker_api, inst, vifs, bridge) == []
    # Idempotent, and also without network_info (from its records gone).
    booted.driver.destroy(None, inst, vifs)
    booted.driver.destroy(None, inst, [])
    assert support.leftovers(docker_api, inst, vifs, bridge) == []


def test_list_instances_lists_only_instances(booted, bridge):
    inst = booted.boot('zeta', [support.vif(bridge, 50)])
    assert booted.driver.list_instance_uuids() == [inst.uuid]
    assert booted.driver.list_instances() == [inst.name]


def test_hybrid_plug_through_qbr(booted, bridge, docker_api):
    """ovs_hybrid_plug: os-vif's qbr/qvb/qvo, the host end on qbr."""
    vif_a = support.vif(bridge, 90, hybrid=True)
    vif_b = support.vif(bridge, 91, hybrid=True)
    a = booted.boot('hyb-a', [vif_a])
    booted.boot('hyb-b', [vif_b])
    qbr = 'qbr' + vif_a['id'][:11]
    assert support.run('ip', '-o', 'link', 'show', 'master',
                       qbr).stdout.count(vif_a['devname']) == 1
    assert 'qvo' + vif_a['id'][:11] in support.ovs_ports(bridge)
    assert _ping(booted, a, '192.0.2.91')[0] == 0
    booted.driver.destroy(None, a, [vif_a])
    assert support.leftovers(docker_api, a, [vif_a], bridge) == [
        'ovs port qvo' + vif_b['id'][:11]]
