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

"""network_info in; what the container's network must look like out.

Pure functions: no I/O, so that every rule is a unit test away.
"""

import netaddr

DEFAULT_ROUTE = 'default'


def _ip(value):
    """The address of a nova IP model (or None)."""
    if not value:
        return None
    return value.get('address') if hasattr(value, 'get') else value


def _subnets(vif):
    network = vif.get('network') or {}
    return network.get('subnets') or []


def mtu(vif):
    network = vif.get('network') or {}
    meta = network.get('meta') or {}
    return meta.get('mtu') or None


def addresses(vif):
    """Every fixed IP of ``vif`` as ``(address, prefixlen)``."""
    found = []
    for subnet in _subnets(vif):
        prefixlen = netaddr.IPNetwork(subnet['cidr']).prefixlen
        for ip in subnet.get('ips') or []:
            found.append((str(ip['address']), prefixlen))
    return found


def _version(subnet):
    return netaddr.IPNetwork(subnet['cidr']).version


def default_gateways(vifs):
    """``{ip version: (vif id, gateway)}`` from the first VIF that has a
    gateway (and an address) in that family.
    """
    chosen = {}
    for vif in vifs:
        for subnet in _subnets(vif):
            gateway = _ip(subnet.get('gateway'))
            if gateway and subnet.get('ips'):
                chosen.setdefault(_version(subnet), (vif['id'], gateway))
    return chosen


def routes(vif, vifs):
    """``(destination, gateway)`` routes to add via ``vif``: the subnets'
    host routes, then the default routes ``vif`` was chosen for.
    """
    found = []
    for subnet in _subnets(vif):
        for route in subnet.get('routes') or []:
            gateway = _ip(route.get('gateway'))
            if gateway and route.get('cidr'):
                found.append((str(route['cidr']), gateway))
    for vif_id, gateway in sorted(default_gateways(vifs).values()):
        if vif_id == vif['id']:
            found.append((DEFAULT_ROUTE, gateway))
    return found


def ifnames(vifs, known=None):
    """``{vif id: ifname}``: VIFs named in ``known`` keep their name, the
    others take the lowest free ``ethN`` in VIF order.
    """
    known = dict(known or {})
    names = {vif['id']: known[vif['id']] for vif in vifs
             if vif['id'] in known}
    index = 0
    for vif in vifs:
        if vif['id'] in names:
            continue
        while 'eth%d' % index in names.values():
            index += 1
        names[vif['id']] = 'eth%d' % index
    return names


def dns_servers(vifs):
    servers = []
    for vif in vifs:
        for subnet in _subnets(vif):
            for dns in subnet.get('dns') or []:
                address = _ip(dns)
                if address and address not in servers:
                    servers.append(address)
    return servers


def resolv_conf(vifs):
    lines = ['# Written by nova (Docker driver) from the Neutron subnets.']
    lines += ['nameserver %s' % server for server in dns_servers(vifs)]
    return '\n'.join(lines) + '\n'


def hosts(vifs, hostname):
    lines = ['127.0.0.1\tlocalhost',
             '::1\tlocalhost ip6-localhost ip6-loopback']
    for vif in vifs[:1]:
        for address, _prefixlen in addresses(vif):
            lines.append('%s\t%s' % (address, hostname))
    return '\n'.join(lines) + '\n'


def hostname_file(hostname):
    return hostname + '\n'
