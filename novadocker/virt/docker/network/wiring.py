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

"""An instance's network: its sandbox, the namespace wiring, the files.

:class:`Network` is what the driver calls. Every privileged step goes
through ``novadocker.privsep.linux_net``. :meth:`Network.teardown` removes
whatever exists of an instance's network, however far :meth:`Network.setup`
got, so a failed build (whose rollback calls it once, see rollback.py)
leaves no sandbox, veth, OVS port, netns link or file behind.
"""

from concurrent import futures
import json
import os

from nova import exception as nova_exception
from nova.network import model as network_model
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker.privsep import linux_net
from novadocker.virt.docker import instancefiles
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
STATE_FILE = 'vifs.json'
# Present while the network is parked (the instance moved to another host
# and may come back): its ports are unplugged here and are not ours.
PARKED_FILE = 'parked'
# Paths inside the container -> file names in the state directory.
FILES = {'/etc/resolv.conf': 'resolv.conf', '/etc/hosts': 'hosts',
         '/etc/hostname': 'hostname'}


def netns_name(instance_uuid):
    return 'nova-%s' % instance_uuid


def netns_path(instance_uuid):
    return os.path.join(linux_net.NETNS_DIR, netns_name(instance_uuid))


def _host_link_exists(ifname):
    return os.path.exists(os.path.join('/sys/class/net', ifname))


class Network(object):
    def __init__(self, client, host, instances_path):
        self.sandboxes = sandbox.Sandboxes(client, host)
        self._files = instancefiles.InstanceFiles(instances_path)

    # Records kept next to the rendered files

    def _dir(self, instance):
        return self._files.path(instance.uuid, STATE_DIR)

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

    def _forget(self, instance):
        self._files.remove(instance.uuid, STATE_DIR)

    # Wiring

    def _wire_vif(self, instance, vif, ifname, vifs):
        path = netns_path(instance.uuid)
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

    def _wired(self, instance, pid):
        try:
            target = os.readlink(netns_path(instance.uuid))
        except OSError:
            return False
        return target == '/proc/%d/ns/net' % pid

    def _ensure(self, instance, vifs, known=None, new=False):
        """Sandbox running and every VIF wired: returns (id, ifnames).

        ``new``: a new instance, so nothing of its network exists yet.
        """
        for vif in vifs:
            host_vifs.check_supported(vif, instance)
        sandbox_id, pid = self.sandboxes.ensure_running(instance)
        fresh = not self._wired(instance, pid)
        if fresh:
            linux_net.set_netns_link(netns_name(instance.uuid), pid)
        names = netconf.ifnames(vifs, known)
        _each(vifs, lambda vif: self._ensure_vif(instance, vif, vifs,
                                                 names[vif['id']], fresh,
                                                 new))
        if fresh:
            linux_net.set_loopback_up(netns_path(instance.uuid))
        return sandbox_id, names

    def _ensure_vif(self, instance, vif, vifs, ifname, fresh, new):
        if fresh or not _host_link_exists(vif['devname']):
            # Whatever is left from a namespace that is gone (the host
            # end, its switch port) is rebuilt from scratch: a switch
            # keeps no port bound to a link that was re-created.
            if not new or _host_link_exists(vif['devname']):
                self._unwire_vif(instance, vif)
            self._wire_vif(instance, vif, ifname, vifs)
        else:
            host_vifs.plug(instance, vif)

    def setup(self, instance, network_info):
        """Build the sandbox and wire it: ``(sandbox id, mounts)``.

        On a failure the caller removes what was built with
        :meth:`teardown`.
        """
        network_info = host_vifs.with_devnames(network_info)
        sandbox_id, names = self._ensure(instance, network_info, new=True)
        return sandbox_id, self._save(instance, network_info, names)

    def ensure(self, instance, network_info):
        """Idempotent: start the sandbox and re-wire what is missing (after
        a restart of the sandbox, of dockerd or of the host).
        """
        network_info = host_vifs.with_devnames(network_info)
        _vifs, known = self._load(instance)
        sandbox_id, names = self._ensure(instance, network_info, known)
        self._save(instance, network_info, names)
        self._set_parked(instance, False)
        return sandbox_id

    def park(self, instance, network_info):
        """Unplug the ports and stop the sandbox, keeping it and the
        records, while the instance runs elsewhere: :meth:`ensure` wires
        it again (revert), :meth:`teardown` removes it (confirm) without
        touching the ports, which belong to the other host by then.
        """
        for vif in network_info or []:
            self._unwire_vif(instance, vif)
        if os.path.lexists(netns_path(instance.uuid)):
            linux_net.remove_netns_link(netns_name(instance.uuid))
        self.sandboxes.stop(instance)
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
        """Remove everything; what is already gone is fine."""
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
        self.sandboxes.remove(instance)
        if os.path.lexists(netns_path(instance.uuid)):
            linux_net.remove_netns_link(netns_name(instance.uuid))
        self._forget(instance)

    def release(self, instance, network_info):
        """Remove what is left here of an instance that runs on another
        host now (confirmed migration, evacuation): the sandbox first,
        which takes our namespace and its links with it; then the switch
        ports whose device is gone. A link that still exists, and a
        namespace name in use, belong to someone else and stay.
        """
        self.sandboxes.remove(instance)
        for vif in network_info or []:
            if vif.get('devname') and not _host_link_exists(vif['devname']):
                try:
                    host_vifs.unplug(instance, vif)
                except Exception:   # the rest of the clean-up goes on
                    LOG.exception('Could not unplug port %s', vif['id'],
                                  instance=instance)
        path = netns_path(instance.uuid)
        if os.path.lexists(path) and not os.path.exists(path):
            linux_net.remove_netns_link(netns_name(instance.uuid))
        self._forget(instance)

    # Hot plug

    def attach(self, instance, vif):
        vif = host_vifs.with_devnames([vif])[0]
        vifs, known = self._load(instance)
        vifs = [v for v in vifs if v['id'] != vif['id']] + [vif]
        host_vifs.check_supported(vif, instance)
        names = netconf.ifnames(vifs, known)
        info = self.sandboxes.inspect(instance)
        if info is None or not info['State'].get('Running'):
            # The container was built without a sandbox (no ports at
            # boot), or is not running: no namespace to add a port to.
            LOG.error('Cannot attach port %s: the instance has no running '
                      'network sandbox (boot it with a port to allow hot '
                      'plugging)', vif['id'], instance=instance)
            raise attach_failed(instance)
        if _host_link_exists(vif['devname']):
            LOG.error('Cannot attach port %s: a link named %s already '
                      'exists on the host', vif['id'], vif['devname'],
                      instance=instance)
            raise attach_failed(instance)
        try:
            self._wire_vif(instance, vif, names[vif['id']], vifs)
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
