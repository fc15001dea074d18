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

"""Helpers for the networking tests: OVS bridges, ports, instances, a
driver wired to the real privsep daemon, commands inside containers.

Every name is unique per test, and everything is removed afterwards, so
parallel runs do not collide. Addresses come from the documentation
prefixes (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32).
"""

import contextlib
import os
import shutil
import subprocess
import sys
import types
import uuid

import pytest

from nova.compute import manager as compute_manager
import nova.conf
from nova import context as nova_context
from nova.network import model as network_model
from nova import objects
from nova.tests.unit import fake_instance
import vif_plug_ovs.ovs

from novadocker.privsep import linux_net
from novadocker.virt.docker import driver as docker_driver
from novadocker.virt.docker.network import vifs as host_vifs

CONF = nova.conf.CONF
OVSDB = 'unix:/var/run/openvswitch/db.sock'
PRIVSEP_HELPER = os.path.join(os.path.dirname(sys.executable),
                              'privsep-helper')

objects.register_all()


def run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def ovs(*args):
    return run('ovs-vsctl', '--timeout=10', *args).stdout.strip()


def ovs_ports(bridge):
    return set(ovs('list-ports', bridge).split())


@contextlib.contextmanager
def ovs_bridge(name=None):
    """A userspace (netdev) OVS bridge, removed afterwards."""
    name = name or 'ndbr%s' % uuid.uuid4().hex[:8]
    try:
        ovs('--may-exist', 'add-br', name, '--', 'set', 'bridge', name,
            'datapath_type=netdev')
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail('Open vSwitch is needed (as root): apt-get install '
                    'openvswitch-switch; /usr/share/openvswitch/scripts/'
                    'ovs-ctl start --system-id=random (%s)'
                    % getattr(e, 'stderr', e), pytrace=False)
    try:
        yield name
    finally:
        ovs('--if-exists', 'del-br', name)


def configure(host, instances_path):
    """Point the driver at the real privsep daemon and OVS."""
    CONF.set_override('host', host)
    CONF.set_override('instances_path', instances_path)
    CONF.set_override('host_url', os.environ['DOCKER_HOST'], group='docker')
    CONF.set_override('watch_events', False, group='docker')
    CONF.set_override('stop_timeout', 1, group='docker')
    CONF.set_override('helper_command', PRIVSEP_HELPER,
                      group='novadocker_privileged')
    # os-vif's OVS plugin reads its connection when os-vif loads it (once
    # per process), as nova-compute does from nova.conf.
    CONF.register_opts(vif_plug_ovs.ovs.OvsPlugin.CONFIG_OPTS,
                       group='os_vif_ovs')
    CONF.set_override('ovsdb_connection', OVSDB, group='os_vif_ovs')
    host_vifs._initialize_os_vif()
    CONF.set_override('helper_command', PRIVSEP_HELPER,
                      group='vif_plug_ovs_privileged')


def virtapi():
    """Nova's real ComputeVirtAPI over a real InstanceEvents registry."""
    compute = types.SimpleNamespace(
        instance_events=compute_manager.InstanceEvents(), reportclient=None)
    return compute_manager.ComputeVirtAPI(compute)


def new_driver(api=None):
    return docker_driver.DockerDriver(api or virtapi())


def instance(name):
    ctxt = nova_context.get_admin_context()
    inst = fake_instance.fake_instance_obj(
        ctxt, uuid=str(uuid.uuid4()), hostname=name,
        display_name=name, project_id='demo', metadata={},
        vm_state='building', task_state='spawning')
    inst.metadata = {}
    inst.system_metadata = {}
    inst.flavor.memory_mb = 64
    inst.flavor.vcpus = 1
    return inst


def image_meta(image, command='sleep 3600'):
    return objects.ImageMeta.from_dict({
        'id': str(uuid.uuid4()), 'name': image,
        'container_format': 'docker', 'disk_format': 'raw',
        'properties': {'os_command_line': command}})


def vif(bridge, index4, index6=None, net=0, vif_type='ovs', active=True,
        mtu=1400, hybrid=False, routes=True, gateway=True):
    """A Neutron port on test network ``net`` (0: 192.0.2.0/24 and
    2001:db8::/64; 1: 198.51.100.0/24 and 2001:db8:1::/64).
    """
    port = str(uuid.uuid4())
    v4 = ['192.0.2', '198.51.100'][net]
    v6 = ['2001:db8:0', '2001:db8:1'][net]
    subnets = [network_model.Subnet(
        cidr='%s.0/24' % v4,
        ips=[network_model.FixedIP(address='%s.%d' % (v4, index4))],
        gateway=network_model.IP(address='%s.1' % v4) if gateway else None,
        dns=[network_model.IP(address='%s.53' % v4)],
        routes=[network_model.Route(
            cidr='203.0.113.%d/25' % (128 * net),
            gateway=network_model.IP(address='%s.254' % v4))]
        if routes else [])]
    if index6 is not None:
        subnets.append(network_model.Subnet(
            cidr='%s::/64' % v6,
            ips=[network_model.FixedIP(address='%s::%x' % (v6, index6))],
            gateway=network_model.IP(address='%s::1' % v6) if gateway
            else None,
            dns=[], routes=[]))
    network = network_model.Network(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, 'net%d-%s' % (net, bridge))),
        bridge=bridge, label='test',
        subnets=subnets, meta={'mtu': mtu})
    details = {'port_filter': True, 'datapath_type': 'netdev',
               'ovs_hybrid_plug': hybrid}
    return network_model.VIF(
        id=port, address='fa:16:3e:%02x:%02x:%02x' % (
            net, index4, (index6 or 0) % 256),
        network=network, type=vif_type, details=details,
        devname=('tap' + port)[:network_model.NIC_NAME_LEN],
        ovs_interfaceid=port, active=active)


def docker_exec(api, container, *cmd):
    """Run ``cmd`` (an argument list) in a container: (exit code, output)."""
    exec_id = api.exec_create(container, list(cmd))['Id']
    output = api.exec_start(exec_id).decode('utf-8', 'replace')
    return api.exec_inspect(exec_id)['ExitCode'], output


def host_link_exists(ifname):
    return os.path.exists(os.path.join('/sys/class/net', ifname))


def leftovers(api, inst, vifs, bridge=None):
    """What is left of an instance's network on this host (empty: none)."""
    found = []
    for name in ('nova-%s' % inst.uuid, 'nova-%s-net' % inst.uuid):
        if api.containers(all=True, filters={'name': '^/%s$' % name}):
            found.append('container %s' % name)
    for v in vifs:
        for prefix in ('', 'qbr', 'qvb', 'qvo'):
            name = (prefix + v['devname'][3:]) if prefix else v['devname']
            if host_link_exists(name[:network_model.NIC_NAME_LEN]):
                found.append('link %s' % name)
    if bridge:
        found += ['ovs port %s' % p for p in ovs_ports(bridge)]
    netns = os.path.join(linux_net.NETNS_DIR, 'nova-%s' % inst.uuid)
    if os.path.lexists(netns):
        found.append(netns)
    state = os.path.join(CONF.instances_path, inst.uuid)
    if os.path.exists(state):
        found.append(state)
    return found


def force_cleanup(api, inst, vifs, bridge=None):
    """Remove whatever a failed test left (never hides a failure)."""
    for name in ('nova-%s' % inst.uuid, 'nova-%s-net' % inst.uuid):
        try:
            api.remove_container(name, force=True)
        except Exception:   # best effort: it may never have existed
            pass
    for v in vifs:
        for prefix in ('tap', 'qbr', 'qvo'):
            run('ip', 'link', 'del', (prefix + v['id'])[:14], check=False)
        if bridge:
            run('ovs-vsctl', '--if-exists', 'del-port', bridge,
                v['devname'], check=False)
    run('rm', '-f', os.path.join(linux_net.NETNS_DIR, 'nova-%s' % inst.uuid),
        check=False)
    shutil.rmtree(os.path.join(CONF.instances_path, inst.uuid),
                  ignore_errors=True)


OVERRIDES = [('host', None), ('instances_path', None),
             ('host_url', 'docker'), ('watch_events', 'docker'),
             ('stop_timeout', 'docker'),
             ('helper_command', 'novadocker_privileged'),
             ('ovsdb_connection', 'os_vif_ovs'),
             ('helper_command', 'vif_plug_ovs_privileged')]


@pytest.fixture
def env(tmp_path, docker_api, busybox_image):
    configure('ndnet-%s' % uuid.uuid4().hex[:8], str(tmp_path))
    yield
    for name, group in OVERRIDES:
        CONF.clear_override(name, group=group)


@pytest.fixture
def bridge(env):
    with ovs_bridge() as name:
        yield name


class Booted(object):
    """Instances booted by a test, destroyed (and checked) afterwards."""

    def __init__(self, api, image):
        self.api = api
        self.image = image
        self.driver = new_driver()
        self.booted = []

    def boot(self, name, network_info, command='sleep 3600', **kwargs):
        inst = instance(name)
        self.booted.append((inst, network_info))
        self.driver.spawn(None, inst, image_meta(self.image, command), [],
                          None, {}, network_info, **kwargs)
        return inst

    def run(self, inst, *cmd):
        return docker_exec(self.api, 'nova-%s' % inst.uuid, *cmd)

    def ok(self, inst, *cmd):
        code, output = self.run(inst, *cmd)
        assert code == 0, (cmd, output)
        return output


@pytest.fixture
def booted(env, docker_api, busybox_image):
    b = Booted(docker_api, busybox_image)
    yield b
    for inst, network_info in b.booted:
        try:
            b.driver.destroy(None, inst, network_info)
        finally:
            force_cleanup(docker_api, inst, network_info)
