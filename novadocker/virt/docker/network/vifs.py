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

"""The host side of each VIF, by VIF type.

The container side is always a veth pair; its host end, named
``vif['devname']``, is handed to whatever the port's binding asks for:

* ``ovs``: os-vif adds it to the integration bridge with Neutron's
  external_ids;
* ``ovs`` with hybrid plug: os-vif builds qbr/qvb/qvo and the host end
  joins the qbr Linux bridge;
* ``tap``: left as it is, for the agent that bound the port;
* ``vrouter``: handed to Contrail's ``vrouter-port-control``.
"""

import copy
import shutil
import threading

from nova import exception as nova_exception
from nova.network import model as network_model
from nova.network import os_vif_util
import os_vif
from os_vif import exception as osvif_exception
from os_vif import objects as osvif_objects
from oslo_concurrency import processutils
from oslo_log import log as logging

from novadocker.privsep import linux_net

LOG = logging.getLogger(__name__)

VROUTER_PORT_CONTROL = 'vrouter-port-control'
#: Times os-vif is asked to unplug a port whose device vanished while
#: os-vif removed it.
OS_VIF_UNPLUG_TRIES = 3
SUPPORTED = (network_model.VIF_TYPE_OVS, network_model.VIF_TYPE_TAP,
             network_model.VIF_TYPE_VROUTER)

_os_vif_lock = threading.Lock()
_os_vif_ready = False


def _initialize_os_vif():
    global _os_vif_ready
    with _os_vif_lock:
        if not _os_vif_ready:
            os_vif.initialize()
            _os_vif_ready = True


def devname(vif):
    """The host end's name: ``vif['devname']``, or for a port that has
    none, the name Nova's Neutron code gives every port (``tap`` and the
    start of the port's ID, ``NIC_NAME_LEN`` characters in all).
    """
    return vif.get('devname') or (
        'tap' + vif['id'])[:network_model.NIC_NAME_LEN]


def with_devnames(vifs):
    """``vifs`` (a NetworkInfo or list), each with its ``devname``; VIFs
    that lack one are copied, the caller's are never changed.
    """
    named = []
    for vif in vifs or []:
        if not vif.get('devname'):
            vif = copy.deepcopy(vif)
            vif['devname'] = devname(vif)
        named.append(vif)
    return network_model.NetworkInfo(named)


def check_supported(vif, instance):
    """Raise VirtualInterfaceCreateException for a VIF type we cannot
    plug, before anything is created.
    """
    if vif['type'] not in SUPPORTED:
        LOG.error('VIF type %s of port %s is not supported by the Docker '
                  'driver (supported: %s)', vif['type'], vif['id'],
                  ', '.join(SUPPORTED), instance=instance)
        raise nova_exception.VirtualInterfaceCreateException()


def plug(instance, vif):
    """Connect the (existing) host end ``vif['devname']``."""
    vif_type = vif['type']
    if vif_type == network_model.VIF_TYPE_OVS:
        _plug_os_vif(instance, vif)
    elif vif_type == network_model.VIF_TYPE_VROUTER:
        _vrouter(instance, vif, _vrouter_add_args(instance, vif))
    elif vif_type != network_model.VIF_TYPE_TAP:
        check_supported(vif, instance)


def unplug(instance, vif):
    """Undo :func:`plug`; what is already gone is fine."""
    vif_type = vif['type']
    if vif_type == network_model.VIF_TYPE_OVS:
        _unplug_os_vif(instance, vif)
    elif vif_type == network_model.VIF_TYPE_VROUTER:
        if shutil.which(VROUTER_PORT_CONTROL):
            _vrouter(instance, vif, ['--oper=delete',
                                     '--uuid=%s' % vif['id']])


def _plug_os_vif(instance, vif):
    _initialize_os_vif()
    osvif = os_vif_util.nova_to_osvif_vif(vif)
    if isinstance(osvif, osvif_objects.vif.VIFOpenVSwitch):
        # No hypervisor creates the OVS port for a container: os-vif must,
        # even for a VIF cached before Nova set delegate_create.
        osvif.port_profile.create_port = True
    os_vif.plug(osvif, os_vif_util.nova_to_osvif_instance(instance))
    if isinstance(osvif, osvif_objects.vif.VIFBridge):
        # Hybrid plug: os-vif made qbr (and its qvb/qvo link to OVS); the
        # container's host end takes the place of a VM's tap on qbr.
        linux_net.add_bridge_port(osvif.bridge_name, vif['devname'])


def _unplug_os_vif(instance, vif):
    """os-vif's unplug, again when the device it was deleting vanished
    under it: the host end of a removed container's veth goes when the
    kernel frees the container's namespace, which may be just after
    os-vif saw it exist. os-vif's unplug is idempotent; the next try
    finds the device gone and finishes the rest (the switch port, a
    trunk bridge).
    """
    _initialize_os_vif()
    osvif = os_vif_util.nova_to_osvif_vif(vif)
    info = os_vif_util.nova_to_osvif_instance(instance)
    for attempt in range(1, OS_VIF_UNPLUG_TRIES + 1):
        try:
            os_vif.unplug(osvif, info)
            return
        except osvif_exception.UnplugException as e:
            vanished = isinstance(e.kwargs.get('err'),
                                  osvif_exception.NetworkInterfaceNotFound)
            if not vanished or attempt == OS_VIF_UNPLUG_TRIES:
                raise
            LOG.debug('A device of port %s vanished while os-vif removed '
                      'it; unplugging again', vif['id'], instance=instance)


def _vrouter_add_args(instance, vif):
    ips = [ip['address'] for ip in vif.fixed_ips()]
    ipv4 = [ip for ip in ips if ':' not in ip]
    ipv6 = [ip for ip in ips if ':' in ip]
    return ['--oper=add',
            '--uuid=%s' % vif['id'],
            '--instance_uuid=%s' % instance.uuid,
            '--vn_uuid=%s' % vif['network']['id'],
            '--vm_project_uuid=%s' % instance.project_id,
            '--ip_address=%s' % (ipv4[0] if ipv4 else '0.0.0.0'),
            '--ipv6_address=%s' % (ipv6[0] if ipv6 else '::'),
            '--vm_name=%s' % instance.display_name,
            '--mac=%s' % vif['address'],
            '--tap_name=%s' % vif['devname'],
            '--port_type=NovaVMPort',
            '--tx_vlan_id=-1',
            '--rx_vlan_id=-1']


def _vrouter(instance, vif, args):
    command = shutil.which(VROUTER_PORT_CONTROL)
    if command is None:
        LOG.error('Port %s is a Contrail vrouter port but %s is not '
                  'installed on this host', vif['id'], VROUTER_PORT_CONTROL,
                  instance=instance)
        raise nova_exception.VirtualInterfaceCreateException()
    try:
        processutils.execute(command, *args)
    except (processutils.ProcessExecutionError, OSError) as e:
        LOG.exception('%s failed for port %s: %s', VROUTER_PORT_CONTROL,
                      vif['id'], e, instance=instance)
        raise nova_exception.VirtualInterfaceCreateException() from e
