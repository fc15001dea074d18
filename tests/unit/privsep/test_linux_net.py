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

"""privsep.linux_net: arguments are checked before anything privileged.

A network namespace name is one path component and a namespace path is
``/var/run/netns/<name>`` or ``/proc/<pid>/ns/net``; numbers are numbers.
Bad arguments raise ValueError before a file is touched or a netlink
socket is opened.  The entrypoints run in-process here (privsep's client
mode off), with netlink replaced by a fake that fails the test if used.
"""

import ast
import inspect
import os

import pytest

import novadocker.privsep
from novadocker.privsep import linux_net

GOOD_NAMES = ['nova-0f1e2d3c', 'ns_1.2', 'a', 'A' * 255]
BAD_NAMES = ['', None, '.', '..', '../etc', 'a/b', '/abs', '.hidden',
             '-x', 'a' * 256, 'x\n', 'a b', 'ns;rm']
GOOD_PATHS = ['/var/run/netns/nova-0f1e2d3c', '/proc/1/ns/net',
              '/proc/4242/ns/net', '/var/run/docker/netns/2632293a833f',
              '/tmp/nd.X_1/exec/netns/' + 'ab' * 32]
BAD_PATHS = ['', None, '/var/run/netns/', '/var/run/netns/../x',
             '/var/run/netns/a/b', '/var/run/netns/.x',
             '/proc/self/ns/net', '/proc/1/ns/mnt', '/proc/1/ns/net/..',
             '/proc/1/ns/net\n', '/tmp/ns', 'var/run/netns/x',
             '/run/netns/x', '/var/run/docker/netns/2632293A833F',
             '/var/run/docker/netns/abc', '/x/../netns/2632293a833f',
             '/x/./netns/2632293a833f', '//netns/2632293a833f',
             '/x/netns/2632293a833f/', '/x y/netns/2632293a833f']


@pytest.fixture(autouse=True)
def in_process(monkeypatch, tmp_path):
    """Entrypoints run here; no netlink; namespaces links under tmp."""
    monkeypatch.setattr(novadocker.privsep.sys_admin_pctxt, 'client_mode',
                        False)

    def no_netlink(*args, **kwargs):
        raise AssertionError('netlink used despite a bad argument')

    monkeypatch.setattr(linux_net, 'IPRoute', no_netlink)
    netns_dir = tmp_path / 'netns'
    monkeypatch.setattr(linux_net, 'NETNS_DIR', str(netns_dir))
    return netns_dir


@pytest.mark.parametrize('name', GOOD_NAMES)
def test_good_names_pass(name):
    assert linux_net._checked_name(name) == name


@pytest.mark.parametrize('name', BAD_NAMES)
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError):
        linux_net._checked_name(name)


@pytest.mark.parametrize('path', GOOD_PATHS)
def test_good_netns_paths_pass(path):
    assert linux_net._checked_netns_path(path) == path


@pytest.mark.parametrize('path', BAD_PATHS)
def test_bad_netns_paths_are_refused(path):
    with pytest.raises(ValueError):
        linux_net._checked_netns_path(path)


def test_netns_link_points_at_the_engines_netns(in_process):
    linux_net.set_netns_link('nova-1', '/var/run/docker/netns/2632293a833f')
    link = in_process / 'nova-1'
    assert os.readlink(link) == '/var/run/docker/netns/2632293a833f'
    linux_net.remove_netns_link('nova-1')
    assert not os.path.lexists(link)
    # Already gone is fine.
    linux_net.remove_netns_link('nova-1')


@pytest.mark.parametrize('name,path', [
    ('../escape', '/proc/1/ns/net'), ('a/b', '/proc/1/ns/net'),
    ('nova-1', '/proc/1/../../x'), ('nova-1', '/proc/self/ns/net'),
    ('nova-1', '/x/../netns/2632293a833f'), ('nova-1', 4242)])
def test_netns_link_with_bad_arguments_creates_nothing(in_process, name,
                                                       path):
    with pytest.raises(ValueError):
        linux_net.set_netns_link(name, path)
    assert not in_process.exists() or list(in_process.iterdir()) == []
    assert not os.path.lexists(in_process.parent / 'escape')


def test_remove_netns_link_refuses_a_path(in_process, tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('keep')
    with pytest.raises(ValueError):
        linux_net.remove_netns_link('../victim')
    assert victim.read_text() == 'keep'


NETNS_ENTRYPOINTS = {
    'create_veth': lambda p: linux_net.create_veth(
        'tap1', 'eth0', p, '02:00:00:00:00:01', 1500),
    'set_addresses': lambda p: linux_net.set_addresses(
        p, 'eth0', [('10.0.0.2', 24)]),
    'set_routes': lambda p: linux_net.set_routes(
        p, 'eth0', [('default', '10.0.0.1')]),
    'set_loopback_up': lambda p: linux_net.set_loopback_up(p),
    'delete_link': lambda p: linux_net.delete_link('eth0', netns_path=p),
    'link_stats': lambda p: linux_net.link_stats(p),
    'set_netns_link': lambda p: linux_net.set_netns_link('nova-1', p),
}


@pytest.mark.parametrize('entrypoint', sorted(NETNS_ENTRYPOINTS))
@pytest.mark.parametrize('path', ['/var/run/netns/../../etc/passwd',
                                  '/proc/self/ns/net', '/etc/passwd'])
def test_netns_entrypoints_refuse_bad_paths_before_opening(
        monkeypatch, entrypoint, path):
    def no_open(*args, **kwargs):
        raise AssertionError('opened %r' % (args,))

    monkeypatch.setattr(linux_net.os, 'open', no_open)
    with pytest.raises(ValueError):
        NETNS_ENTRYPOINTS[entrypoint](path)


def test_every_namespace_entrypoint_is_covered():
    # Read from the source: privsep wraps the entrypoints.
    tree = ast.parse(inspect.getsource(linux_net))
    takes_netns = {f.name for f in tree.body
                   if isinstance(f, ast.FunctionDef)
                   and not f.name.startswith('_')
                   and 'netns_path' in [a.arg for a in f.args.args]}
    assert takes_netns == set(NETNS_ENTRYPOINTS)


def test_create_veth_refuses_a_non_numeric_mtu():
    with pytest.raises(ValueError):
        linux_net.create_veth('tap1', 'eth0', '/proc/1/ns/net',
                              '02:00:00:00:00:01', '1500; reboot')
