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

"""network_info -> the container's network, as pure rules."""

from nova.network import model

from novadocker.virt.docker.network import netconf


def _vif(vif_id, v4=None, v6=None, gw4=None, gw6=None, routes=(), dns=(),
         mtu=None):
    subnets = []
    if v4:
        subnets.append(model.Subnet(
            cidr='192.0.2.0/24', ips=[model.FixedIP(address=v4)],
            gateway=model.IP(address=gw4) if gw4 else None,
            dns=[model.IP(address=d) for d in dns],
            routes=[model.Route(cidr=c, gateway=model.IP(address=g))
                    for c, g in routes]))
    if v6:
        subnets.append(model.Subnet(
            cidr='2001:db8::/64', ips=[model.FixedIP(address=v6)],
            gateway=model.IP(address=gw6) if gw6 else None))
    return model.VIF(id=vif_id, address='fa:16:3e:00:00:01',
                     network=model.Network(id='n', subnets=subnets,
                                           meta={'mtu': mtu} if mtu else {}))


def test_addresses_keep_prefix_for_both_families():
    vif = _vif('a', v4='192.0.2.5', v6='2001:db8::5')
    assert netconf.addresses(vif) == [('192.0.2.5', 24),
                                      ('2001:db8::5', 64)]


def test_mtu_from_network_or_none():
    assert netconf.mtu(_vif('a', mtu=1450)) == 1450
    assert netconf.mtu(_vif('a')) is None


def test_one_default_route_per_family_from_first_vif_with_gateway():
    a = _vif('a', v4='192.0.2.5', v6='2001:db8::5', gw6='2001:db8::1')
    b = _vif('b', v4='192.0.2.6', gw4='192.0.2.1')
    c = _vif('c', v4='192.0.2.7', gw4='192.0.2.254')
    vifs = [a, b, c]
    assert netconf.routes(a, vifs) == [('default', '2001:db8::1')]
    assert netconf.routes(b, vifs) == [('default', '192.0.2.1')]
    assert netconf.routes(c, vifs) == []


def test_host_routes_come_before_default():
    a = _vif('a', v4='192.0.2.5', gw4='192.0.2.1',
             routes=[('203.0.113.0/24', '192.0.2.254')])
    assert netconf.routes(a, [a]) == [('203.0.113.0/24', '192.0.2.254'),
                                      ('default', '192.0.2.1')]


def test_ifnames_in_vif_order_and_known_names_kept():
    vifs = [_vif('a'), _vif('b'), _vif('c')]
    assert netconf.ifnames(vifs) == {'a': 'eth0', 'b': 'eth1', 'c': 'eth2'}
    assert netconf.ifnames(vifs, {'a': 'eth0', 'c': 'eth2'}) == {
        'a': 'eth0', 'b': 'eth1', 'c': 'eth2'}
    assert netconf.ifnames(vifs[1:], {'c': 'eth0'}) == {'b': 'eth1',
                                                        'c': 'eth0'}


def test_resolv_conf_lists_each_server_once_in_vif_order():
    a = _vif('a', v4='192.0.2.5', dns=['192.0.2.53', '198.51.100.53'])
    b = _vif('b', v4='192.0.2.6', dns=['198.51.100.53'])
    text = netconf.resolv_conf([a, b])
    assert text.splitlines()[1:] == ['nameserver 192.0.2.53',
                                     'nameserver 198.51.100.53']


def test_hosts_maps_first_vif_addresses_to_hostname():
    a = _vif('a', v4='192.0.2.5', v6='2001:db8::5')
    b = _vif('b', v4='192.0.2.6')
    lines = netconf.hosts([a, b], 'web').splitlines()
    assert '127.0.0.1\tlocalhost' in lines
    assert '192.0.2.5\tweb' in lines and '2001:db8::5\tweb' in lines
    assert not any('192.0.2.6' in line for line in lines)
    assert netconf.hostname_file('web') == 'web\n'
