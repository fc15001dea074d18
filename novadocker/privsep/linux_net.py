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

"""Privileged network steps, each a small entrypoint using pyroute2.

A network namespace is named by a path (``/var/run/netns/<name>`` or
``/proc/<pid>/ns/net``). No shell and no external command is run.
"""

import contextlib
import ctypes
import errno
import os
import re

from pyroute2 import IPRoute
from pyroute2.netlink import exceptions as nl_exceptions

import novadocker.privsep

NETNS_DIR = '/var/run/netns'
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
IFA_F_NODAD = 0x02


_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$')
# A named netns, a process's, or one an engine keeps for a container
# (Docker's ``NetworkSettings.SandboxKey``: ``<exec-root>/netns/<id>``).
_NETNS_PATH = re.compile(r'^(/var/run/netns/[A-Za-z0-9][A-Za-z0-9_.-]*|'
                         r'/proc/[0-9]+/ns/net|'
                         r'(/[A-Za-z0-9_.-]+)+/netns/[0-9a-f]{12,64})$')


def _checked_name(name):
    """A netns name: one path component, never ``..`` or a slash."""
    if not _NAME.fullmatch(name or ''):
        raise ValueError('invalid network namespace name %r' % name)
    return name


def _checked_netns_path(path):
    if (not isinstance(path, str) or not _NETNS_PATH.fullmatch(path) or
            {'.', '..'} & set(path.split('/'))):
        raise ValueError('invalid network namespace path %r' % path)
    return path


def _is_missing(error):
    return getattr(error, 'code', None) in (errno.ENODEV, errno.ENOENT,
                                            errno.ESRCH)


def _index(ipr, ifname):
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise OSError(errno.ENODEV, 'no link %s' % ifname)
    return found[0]


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


@contextlib.contextmanager
def _in_netns(netns_path):
    """An IPRoute whose netlink socket lives in ``netns_path``.

    Only this thread enters the namespace, just long enough to open the
    socket, and always comes back; the socket keeps working in the
    namespace it was opened in. (Cheaper than pyroute2's own ``netns=``,
    which forks a process for every socket.)
    """
    target = os.open(_checked_netns_path(netns_path),
                     os.O_RDONLY | os.O_CLOEXEC)
    try:
        own = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                ipr = IPRoute()
            finally:
                _setns(own)
        finally:
            os.close(own)
    finally:
        os.close(target)
    with ipr:
        yield ipr


@contextlib.contextmanager
def _here():
    with IPRoute() as ipr:
        yield ipr


@novadocker.privsep.sys_admin_pctxt.entrypoint
def set_netns_link(name, netns_path):
    """Point ``/var/run/netns/<name>`` at ``netns_path``."""
    link = os.path.join(NETNS_DIR, _checked_name(name))
    target = _checked_netns_path(netns_path)
    os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
    tmp = link + '.new'
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


@novadocker.privsep.sys_admin_pctxt.entrypoint
def remove_netns_link(name):
    try:
        os.unlink(os.path.join(NETNS_DIR, _checked_name(name)))
    except FileNotFoundError:
        pass


@novadocker.privsep.sys_admin_pctxt.entrypoint
def create_veth(host_ifname, ifname, netns_path, mac, mtu):
    """A veth pair: ``host_ifname`` here (up), ``ifname`` in the netns.

    The peer is created directly inside the namespace with its MAC and
    MTU, so no temporary name is ever visible on the host.
    """
    peer = {'ifname': ifname, 'address': mac}
    link = {'ifname': host_ifname, 'kind': 'veth'}
    if mtu:
        peer['mtu'] = link['mtu'] = int(mtu)
    fd = os.open(_checked_netns_path(netns_path), os.O_RDONLY | os.O_CLOEXEC)
    try:
        peer['net_ns_fd'] = fd
        with IPRoute() as ipr:
            ipr.link('add', peer=peer, **link)
            ipr.link('set', index=_index(ipr, host_ifname), state='up')
    finally:
        os.close(fd)


@novadocker.privsep.sys_admin_pctxt.entrypoint
def set_addresses(netns_path, ifname, addresses):
    """Add ``(address, prefixlen)`` pairs to ``ifname`` and bring it up.

    IPv6 addresses skip duplicate address detection so that they are
    usable at once (Neutron already guarantees they are unique).
    """
    with _in_netns(netns_path) as ipr:
        index = _index(ipr, ifname)
        for address, prefixlen in addresses:
            extra = {'flags': IFA_F_NODAD} if ':' in address else {}
            try:
                ipr.addr('add', index=index, address=address,
                         prefixlen=int(prefixlen), **extra)
            except nl_exceptions.NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise
        ipr.link('set', index=index, state='up')


@novadocker.privsep.sys_admin_pctxt.entrypoint
def set_routes(netns_path, ifname, routes):
    """Add or replace ``(destination, gateway)`` routes via ``ifname``.

    ``destination`` is a CIDR or ``default``; IPv6 is told by the
    gateway.
    """
    with _in_netns(netns_path) as ipr:
        index = _index(ipr, ifname)
        for dst, gateway in routes:
            family = 10 if ':' in gateway else 2
            ipr.route('replace', dst=dst, gateway=gateway, oif=index,
                      family=family)


@novadocker.privsep.sys_admin_pctxt.entrypoint
def set_loopback_up(netns_path):
    with _in_netns(netns_path) as ipr:
        ipr.link('set', index=_index(ipr, 'lo'), state='up')


@novadocker.privsep.sys_admin_pctxt.entrypoint
def delete_link(ifname, netns_path=None):
    """Delete ``ifname`` (and with a veth, its peer); absent is fine."""
    ipr = _in_netns(netns_path) if netns_path else _here()
    with ipr as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return False
        try:
            ipr.link('del', index=found[0])
        except nl_exceptions.NetlinkError as e:
            if not _is_missing(e):
                raise
            return False
    return True


@novadocker.privsep.sys_admin_pctxt.entrypoint
def add_bridge_port(bridge, ifname):
    """Enslave ``ifname`` to the Linux bridge ``bridge``."""
    with IPRoute() as ipr:
        ipr.link('set', index=_index(ipr, ifname),
                 master=_index(ipr, bridge))


_LINK_COUNTERS = ('rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped',
                  'tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped')


@novadocker.privsep.sys_admin_pctxt.entrypoint
def link_stats(netns_path):
    """Name, MAC address and traffic counters of each link in a network
    namespace other than loopback.
    """
    with _in_netns(netns_path) as ipr:
        found = []
        for link in ipr.get_links():
            name = link.get_attr('IFLA_IFNAME')
            if name == 'lo':
                continue
            stats = (link.get_attr('IFLA_STATS64') or
                     link.get_attr('IFLA_STATS') or {})
            entry = {'name': name,
                     'address': link.get_attr('IFLA_ADDRESS')}
            entry.update((key, stats.get(key)) for key in _LINK_COUNTERS)
            found.append(entry)
        return sorted(found, key=lambda e: e['name'])
