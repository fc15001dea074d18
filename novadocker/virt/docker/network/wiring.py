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

"""An instance's network: the records, the namespace wiring, the files.

:class:`Network` is what the driver calls. A container with ports is
created held (``hold.py``) in a network namespace of its own; after each
``docker start`` :meth:`Network.wire` wires that namespace and releases
the entrypoint. Every privileged step goes through
``novadocker.privsep.linux_net``. :meth:`Network.teardown` removes whatever
exists of an instance's network, however far the wiring got, so a failed
build (whose rollback calls it once, see rollback.py) leaves no veth, OVS
port, netns link or file behind; the namespace itself goes with the
container.
"""

from concurrent import futures
import json
import os
import stat
import time

from nova import exception as nova_exception
from nova.i18n import _
from nova.network import model as network_model
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.privsep import linux_net
from novadocker.virt.docker import exception
from novadocker.virt.docker import instancefiles
from novadocker.virt.docker.network import hold
from novadocker.virt.docker.network import netconf
from novadocker.virt.docker.network import sandbox
from novadocker.virt.docker.network import vifs as host_vifs
from novadocker.virt.docker import translator

LOG = logging.getLogger(__name__)

STATE_DIR = 'docker-network'
# The files are bind-mounted read-only for every user in the container;
# the instance directory above (0700) keeps other host users out.
STATE_DIR_MODE = 0o755
# Ports wired at the same time.
MAX_PARALLEL = 4
# Seconds the host ends of a removed container's veths may take to go.
LINK_GONE_WAIT = 10
LINK_POLL = 0.05
STATE_FILE = 'vifs.json'
# The engine's file of the namespace last wired (its SandboxKey).
NETNS_FILE = 'netns'
# The FIFO through which the held entrypoint is released (hold.py).
FIFO = 'ready'
# Present while the network is parked (the instance moved to another host
# and may come back): its ports are unplugged here and are not ours.
PARKED_FILE = 'parked'
# Paths inside the container -> file names in the state directory.
FILES = {'/etc/resolv.conf': 'resolv.conf', '/etc/hosts': 'hosts',
         '/etc/hostname': 'hostname'}
# Docker turns IPv6 off in a namespace it does not network itself; the
# ports bring their own IPv6 addresses, usable at once (Neutron already
# made them unique, so no duplicate address detection).
SYSCTLS = {
    'net.ipv6.conf.all.disable_ipv6': '0',
    'net.ipv6.conf.default.disable_ipv6': '0',
    'net.ipv6.conf.default.accept_dad': '0',
}


class HoldNotReleased(exception.DockerDriverException):
    msg_fmt = _('The container of instance %(instance)s did not wait for '
                'its network: its entrypoint holder %(program)s did not '
                'open %(fifo)s within %(timeout)d s, or the container '
                'stopped')


class HoldProgramMissing(exception.DockerDriverException):
    msg_fmt = _('The program that holds a container\'s entrypoint until its '
                'network is wired, %(program)s ([docker] hold_program), '
                'is missing or not readable and executable by every user: '
                'build it with novadocker-build-hold')


def netns_name(instance_uuid):
    return 'nova-%s' % instance_uuid


def netns_path(instance_uuid):
    return os.path.join(linux_net.NETNS_DIR, netns_name(instance_uuid))


def _host_link_exists(ifname):
    return os.path.exists(os.path.join('/sys/class/net', ifname))


def _links_gone(ifnames, timeout):
    """Wait up to ``timeout`` seconds until none of the host links
    ``ifnames`` exists: the host ends of veths whose other end was in a
    namespace that is gone (the kernel removes them shortly after).
    """
    deadline = time.monotonic() + timeout
    while any(_host_link_exists(name) for name in ifnames):
        if time.monotonic() >= deadline:
            return False
        time.sleep(LINK_POLL)
    return True


def _is_netns(path):
    """Whether ``path`` (followed) is a network namespace: the engine
    unmounts a container's namespace file when the container stops and
    removes the file only later.
    """
    try:
        return (os.stat(path).st_dev ==
                os.stat('/proc/self/ns/net').st_dev)
    except OSError:
        return False


def _running(info):
    return bool(info['State'].get('Running'))


class Network(object):
    def __init__(self, client, host, instances_path, hold_program,
                 hold_timeout):
        self._client = client
        # The pause image of the engine locality check (enginehost.py).
        self.sandboxes = sandbox.Sandboxes(client, host)
        self._files = instancefiles.InstanceFiles(instances_path)
        self._hold_program = hold_program
        self._hold_timeout = hold_timeout

    def check(self):
        """Raise HoldProgramMissing unless every user (a remapped root
        too) can read and execute the hold program.
        """
        try:
            mode = os.stat(self._hold_program).st_mode
        except OSError:
            mode = 0
        if not stat.S_ISREG(mode) or mode & 0o005 != 0o005:
            raise HoldProgramMissing(program=self._hold_program)

    # Records kept next to the rendered files

    def _dir(self, instance):
        return self._files.path(instance.uuid, STATE_DIR)

    def _fifo(self, instance):
        return os.path.join(self._dir(instance), FIFO)

    def _load(self, instance):
        """``(vifs, {vif id: ifname})`` recorded for the instance."""
        try:
            with open(os.path.join(self._dir(instance), STATE_FILE)) as f:
                state = json.load(f)
        except FileNotFoundError:
            return [], {}
        return (network_model.NetworkInfo.hydrate(state['vifs']),
                state['ifnames'])

    def _save(self, instance, vifs, ifnames):
        """Record the VIFs and render the files; returns the mounts."""
        path = self._files.ensure(instance.uuid, STATE_DIR, STATE_DIR_MODE)
        hostname = translator.hostname(instance)
        contents = {
            'resolv.conf': netconf.resolv_conf(vifs),
            'hosts': netconf.hosts(vifs, hostname),
            'hostname': netconf.hostname_file(hostname),
            STATE_FILE: json.dumps({'vifs': list(vifs), 'ifnames': ifnames}),
        }
        for name, text in contents.items():
            # Rewritten in place: a running container's bind mount keeps
            # the same inode and sees the new content.
            with open(os.path.join(path, name), 'w') as f:
                f.write(text)
        return {target: os.path.join(path, name)
                for target, name in FILES.items()}

    def _record_netns(self, instance, netns):
        path = self._files.ensure(instance.uuid, STATE_DIR, STATE_DIR_MODE)
        with open(os.path.join(path, NETNS_FILE), 'w') as f:
            f.write(netns)

    def _recorded_netns(self, instance):
        try:
            with open(os.path.join(self._dir(instance), NETNS_FILE)) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _forget(self, instance):
        self._files.remove(instance.uuid, STATE_DIR)

    # Before the container exists

    def prepare(self, instance, network_info, args):
        """``args`` (``translator.container_args``) for a container with
        ``network_info``'s ports: held, with the network files mounted and
        IPv6 on. Records the ports; on a failure later the caller removes
        what was made with :meth:`teardown`.
        """
        network_info = host_vifs.with_devnames(network_info)
        for vif in network_info:
            host_vifs.check_supported(vif, instance)
        _vifs, known = self._load(instance)
        files = self._save(instance, network_info,
                           netconf.ifnames(network_info, known))
        hold.make_fifo(self._fifo(instance))
        image = self._client.inspect_image(args['image'])['Config'] or {}
        args = hold.wrap(args, image, self._hold_program, self._fifo(instance))
        args = translator.with_mounts(args, files)
        host_config = args['host_config']
        host_config['sysctls'] = dict(SYSCTLS,
                                      **(host_config.get('sysctls') or {}))
        return args

    # Wiring

    def _wire_vif(self, instance, vif, ifname, vifs, path):
        linux_net.create_veth(vif['devname'], ifname, path, vif['address'],
                              netconf.mtu(vif))
        host_vifs.plug(instance, vif)
        linux_net.set_addresses(path, ifname, netconf.addresses(vif))
        routes = netconf.routes(vif, vifs)
        if routes:
            linux_net.set_routes(path, ifname, routes)
        LOG.debug('Wired port %s as %s (host end %s)', vif['id'], ifname,
                  vif['devname'], instance=instance)

    def _unwire_vif(self, instance, vif):
        """Unplug the port and delete the host link; a switch that keeps
        the port fails the call (after the link is gone), so that the
        caller's operation fails and a retry removes the port.
        """
        try:
            host_vifs.unplug(instance, vif)
        finally:
            if _host_link_exists(vif['devname']):
                linux_net.delete_link(vif['devname'])

    def _wired(self, instance, netns):
        """Whether our netns link names the namespace ``netns`` (the
        engine's file of the running container's namespace).
        """
        try:
            return (os.readlink(netns_path(instance.uuid)) == netns and
                    _is_netns(netns))
        except OSError:
            return False

    def _vifs(self, instance, network_info):
        """``(vifs, known ifnames)``: ``network_info`` (or the recorded
        ports when it is None), each with its devname.
        """
        recorded, known = self._load(instance)
        if network_info is None:
            return recorded, known
        return host_vifs.with_devnames(network_info), known

    def wire(self, instance, network_info, inspect, new=False):
        """Right after ``docker start`` of the instance's container (or
        its rescue container): wire its namespace and release its held
        entrypoint. ``inspect()`` gives the container's ``docker
        inspect``; ``network_info`` None means the recorded ports; ``new``
        a container started for the first time, so nothing of its network
        exists yet.

        Raises HoldNotReleased when the container did not wait for its
        network (it stopped, or its holder did not start in time).
        """
        vifs, known = self._vifs(instance, network_info)
        if not vifs and not os.path.isdir(self._dir(instance)):
            return
        info = inspect()
        held = hold.is_held(info['Config'])
        if _running(info):
            self._ensure(instance, info, vifs, known, new)
        if held and not (_running(info) and hold.release(
                self._fifo(instance), self._hold_timeout,
                lambda: _running(inspect()))):
            raise HoldNotReleased(instance=instance.uuid,
                                  program=self._hold_program,
                                  fifo=self._fifo(instance),
                                  timeout=self._hold_timeout)

    def ensure(self, instance, network_info, inspect):
        """Idempotent, for a container that may run already (nova-compute
        restarts, resume): re-wire what is missing of its namespace, and
        release an entrypoint still held.
        """
        vifs, known = self._vifs(instance, network_info)
        if not vifs and not os.path.isdir(self._dir(instance)):
            return
        info = inspect()
        if not _running(info):
            # Wired at its next start.
            self._save(instance, vifs, netconf.ifnames(vifs, known))
            return
        self._ensure(instance, info, vifs, known)
        if hold.is_held(info['Config']):
            hold.release(self._fifo(instance), 0, lambda: False)

    def _ensure(self, instance, info, vifs, known, new=False):
        for vif in vifs:
            host_vifs.check_supported(vif, instance)
        netns = info['NetworkSettings']['SandboxKey']
        fresh = not self._wired(instance, netns)
        if fresh:
            self._record_netns(instance, netns)
            linux_net.set_netns_link(netns_name(instance.uuid), netns)
        names = netconf.ifnames(vifs, known)
        _each(vifs, lambda vif: self._ensure_vif(instance, vif, vifs,
                                                 names[vif['id']], netns,
                                                 fresh, new))
        if fresh:
            linux_net.set_loopback_up(netns)
        self._save(instance, vifs, names)
        self._set_parked(instance, False)

    def _ensure_vif(self, instance, vif, vifs, ifname, netns, fresh, new):
        if fresh or not _host_link_exists(vif['devname']):
            # Whatever is left from a namespace that is gone (the host
            # end, its switch port) is rebuilt from scratch: a switch
            # keeps no port bound to a link that was re-created.
            if not new or _host_link_exists(vif['devname']):
                self._unwire_vif(instance, vif)
            self._wire_vif(instance, vif, ifname, vifs, netns)
        else:
            host_vifs.plug(instance, vif)

    def park(self, instance, network_info):
        """Unplug the ports of the stopped container, keeping the records,
        while the instance runs elsewhere: :meth:`wire` wires it again
        (revert), :meth:`teardown` removes the records (confirm) without
        touching the ports, which belong to the other host by then.
        """
        for vif in network_info or []:
            self._unwire_vif(instance, vif)
        if os.path.lexists(netns_path(instance.uuid)):
            linux_net.remove_netns_link(netns_name(instance.uuid))
        if os.path.isdir(self._dir(instance)):
            self._set_parked(instance, True)

    def _parked(self, instance):
        return os.path.exists(os.path.join(self._dir(instance), PARKED_FILE))

    def _set_parked(self, instance, parked):
        path = os.path.join(self._dir(instance), PARKED_FILE)
        if parked:
            with open(path, 'w'):
                pass
        elif os.path.exists(path):
            os.unlink(path)

    def unplug(self, instance, network_info):
        for vif in host_vifs.with_devnames(network_info):
            self._unwire_vif(instance, vif)

    def teardown(self, instance, network_info):
        """Remove everything; what is already gone is fine. The container
        is removed first (its namespace and the veths in it go with it).
        """
        recorded, _names = self._load(instance)
        vifs = list(host_vifs.with_devnames(network_info))
        vifs += [v for v in recorded
                 if v['id'] not in {vif['id'] for vif in vifs}]
        if not vifs and not os.path.isdir(self._dir(instance)):
            # Built without ports: there never was a network to remove.
            return
        if self._parked(instance):
            self.release(instance, vifs)
            return
        for vif in vifs:
            self._unwire_vif(instance, vif)
        if os.path.lexists(netns_path(instance.uuid)):
            linux_net.remove_netns_link(netns_name(instance.uuid))
        self._forget(instance)

    def release(self, instance, network_info):
        """Remove what is left here of an instance that runs on another
        host now (confirmed migration, evacuation), once its container is
        gone (which took our namespace and its links with it): the switch
        ports whose device is gone. A link that still exists, and a
        namespace name in use, belong to someone else and stay.
        """
        vifs = [vif for vif in network_info or [] if vif.get('devname')]
        _links_gone([vif['devname'] for vif in vifs], LINK_GONE_WAIT)
        for vif in vifs:
            if not _host_link_exists(vif['devname']):
                try:
                    host_vifs.unplug(instance, vif)
                except Exception:   # the rest of the clean-up goes on
                    LOG.exception('Could not unplug port %s', vif['id'],
                                  instance=instance)
        path = netns_path(instance.uuid)
        if os.path.lexists(path) and (
                not _is_netns(path) or
                os.readlink(path) == self._recorded_netns(instance)):
            # Gone, or the namespace of our removed container, which the
            # engine may unmount only later.
            linux_net.remove_netns_link(netns_name(instance.uuid))
        self._forget(instance)

    # Hot plug

    def attach(self, instance, vif, info):
        """Wire ``vif`` into the running container ``info`` (its ``docker
        inspect``).
        """
        vif = host_vifs.with_devnames([vif])[0]
        vifs, known = self._load(instance)
        vifs = [v for v in vifs if v['id'] != vif['id']] + [vif]
        host_vifs.check_supported(vif, instance)
        names = netconf.ifnames(vifs, known)
        if not _running(info) or not hold.is_held(info['Config']):
            # The container was built without ports (it has the engine's
            # empty namespace, never wired before its entrypoint), or is
            # not running: no namespace of ours to add a port to.
            LOG.error('Cannot attach port %s: the instance\'s container is '
                      'not running, or was built without ports (boot it '
                      'with a port to allow hot plugging)', vif['id'],
                      instance=instance)
            raise attach_failed(instance)
        if _host_link_exists(vif['devname']):
            LOG.error('Cannot attach port %s: a link named %s already '
                      'exists on the host', vif['id'], vif['devname'],
                      instance=instance)
            raise attach_failed(instance)
        try:
            self._wire_vif(instance, vif, names[vif['id']], vifs,
                           info['NetworkSettings']['SandboxKey'])
        except Exception:
            with excutils.save_and_reraise_exception():
                self._unwire_vif(instance, vif)
        self._save(instance, network_model.NetworkInfo(vifs), names)

    def detach(self, instance, vif):
        vif = host_vifs.with_devnames([vif])[0]
        vifs, known = self._load(instance)
        self._unwire_vif(instance, vif)
        vifs = [v for v in vifs if v['id'] != vif['id']]
        known.pop(vif['id'], None)
        self._save(instance, network_model.NetworkInfo(vifs), known)


def _each(vifs, wire):
    """``wire(vif)`` for every VIF, the VIFs side by side (each VIF's
    steps touch only its own links and routes).

    Returns once every one has finished, so that a cleanup after a
    failure never races a wiring still in progress; then raises the
    first failure, if any.
    """
    if len(vifs) < 2:
        for vif in vifs:
            wire(vif)
        return
    with futures.ThreadPoolExecutor(
            max_workers=min(len(vifs), MAX_PARALLEL),
            thread_name_prefix='novadocker-vif') as pool:
        done = [pool.submit(wire, vif) for vif in vifs]
    for future in done:
        future.result()


def attach_failed(instance):
    return nova_exception.InterfaceAttachFailed(instance_uuid=instance.uuid)
