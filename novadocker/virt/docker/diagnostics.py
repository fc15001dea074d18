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

"""What ``openstack server show --diagnostics`` reports for a container.

One inspect and one stats call to the engine (a single sample, no
stream), and one read of the link counters inside the network namespace
the container shares with its network sandbox (Docker's own stats know
nothing of the links the driver wires itself). Each mounted volume is a
disk, with the I/O the container's cgroup counted on its block device
(from the same stats sample). The translators below turn those into
Nova's diagnostics without further I/O: :func:`instance_diagnostics` for
microversion 2.48 and later, :func:`legacy` for the free-form answer of
earlier ones.
"""

import datetime
import os
import re

from nova.objects import diagnostics as diagnostics_obj
from nova.objects import fields
from oslo_log import log as logging
from oslo_utils import timeutils

from novadocker.privsep import linux_net
from novadocker.virt.docker.network import wiring
from novadocker.virt.docker import states

LOG = logging.getLogger(__name__)

HYPERVISOR = 'docker'
HYPERVISOR_OS = 'linux'
MiB = 1024 * 1024
KiB = 1024
_FRACTION = re.compile(r'(\.\d{1,6})\d*')


def started_at(info):
    """When the container's process started (aware datetime), or None."""
    value = info['State'].get('StartedAt') or ''
    if not value or value.startswith('0001-'):
        return None
    # Docker gives nanoseconds; Python parses microseconds at most.
    return timeutils.parse_isotime(_FRACTION.sub(r'\1', value, count=1))


def uptime(info, now):
    """Seconds since the container's process started; None when it is not
    running.
    """
    start = started_at(info)
    if not info['State'].get('Running') or start is None:
        return None
    return max(0, int((now - start).total_seconds()))


def has_config_drive(info, config_drive_path):
    return any(m.get('Destination') == config_drive_path
               for m in info.get('Mounts') or ())


def memory(stats):
    """``(limit, used)`` in bytes; used leaves out the page cache that the
    kernel can drop (as ``docker stats`` does).
    """
    mem = stats.get('memory_stats') or {}
    usage = mem.get('usage')
    detail = mem.get('stats') or {}
    cache = detail.get('inactive_file',              # cgroup v2
                       detail.get('total_inactive_file',  # cgroup v1
                                  detail.get('cache', 0)))
    used = None if usage is None else max(0, usage - cache)
    return mem.get('limit'), used


def cpu_time(stats):
    """Nanoseconds of CPU the container used since it started."""
    return ((stats.get('cpu_stats') or {}).get('cpu_usage') or {}).get(
        'total_usage')


def _blkio(stats, key, device):
    """``{'read': n, 'write': n}`` of one device in a blkio list."""
    found = {}
    for entry in ((stats.get('blkio_stats') or {}).get(key) or ()):
        if (entry.get('major'), entry.get('minor')) == tuple(device):
            op = (entry.get('op') or '').lower()
            found[op] = found.get(op, 0) + (entry.get('value') or 0)
    return found


def disk_io(stats, device):
    """Bytes and requests the container read from and wrote to the block
    device ``(major, minor)``, as its cgroup counted them.
    """
    nbytes = _blkio(stats, 'io_service_bytes_recursive', device)
    requests = _blkio(stats, 'io_serviced_recursive', device)
    return {'read_bytes': nbytes.get('read', 0),
            'read_requests': requests.get('read', 0),
            'write_bytes': nbytes.get('write', 0),
            'write_requests': requests.get('write', 0)}


def _mib(value):
    return None if value is None else value // MiB


def instance_diagnostics(info, stats, links, vcpus, config_drive_path,
                         volumes=None, now=None):
    """Nova's Diagnostics object (microversion 2.48)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    limit, used = memory(stats)
    # Nova's driver field knows only its own drivers; 'docker' is in
    # ``hypervisor`` (see doc/support-matrix.rst).
    diags = diagnostics_obj.Diagnostics(
        state=fields.InstancePowerState.from_index(
            states.power_state_of(info['State'])),
        hypervisor=HYPERVISOR,
        hypervisor_os=HYPERVISOR_OS,
        uptime=uptime(info, now),
        config_drive=has_config_drive(info, config_drive_path),
        memory_details=diagnostics_obj.MemoryDiagnostics(
            maximum=_mib(limit), used=_mib(used)))
    # cgroups count CPU time for the whole container, not per vCPU.
    diags.add_cpu(id=0, time=cpu_time(stats))
    for link in links:
        diags.add_nic(mac_address=link['address'],
                      rx_octets=link['rx_bytes'],
                      rx_errors=link['rx_errors'],
                      rx_drop=link['rx_dropped'],
                      rx_packets=link['rx_packets'],
                      tx_octets=link['tx_bytes'],
                      tx_errors=link['tx_errors'],
                      tx_drop=link['tx_dropped'],
                      tx_packets=link['tx_packets'])
    for _name, device in sorted((volumes or {}).items()):
        diags.add_disk(errors_count=None, **disk_io(stats, device))
    diags.num_cpus = vcpus
    return diags


def legacy(info, stats, links, vcpus, config_drive_path, volumes=None,
           now=None):
    """The free-form answer of microversions before 2.48."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    limit, used = memory(stats)
    state = states.power_state_of(info['State'])
    result = {
        'state': fields.InstancePowerState.from_index(state),
        'driver': HYPERVISOR,
        'uptime': uptime(info, now),
        'config_drive': has_config_drive(info, config_drive_path),
        'num_cpus': vcpus,
        'cpu_time': cpu_time(stats),
        'memory': None if limit is None else limit // KiB,
        'memory-used': None if used is None else used // KiB,
    }
    for link in links:
        name = link['name']
        for ours, theirs in (('rx', 'rx_bytes'), ('tx', 'tx_bytes')):
            result['%s_%s' % (name, ours)] = link[theirs]
            for kind in ('packets', 'errors'):
                result['%s_%s_%s' % (name, ours, kind)] = \
                    link['%s_%s' % (ours, kind)]
            result['%s_%s_drop' % (name, ours)] = link['%s_dropped' % ours]
    for name, device in sorted((volumes or {}).items()):
        io = disk_io(stats, device)
        result['%s_read' % name] = io['read_bytes']
        result['%s_read_req' % name] = io['read_requests']
        result['%s_write' % name] = io['write_bytes']
        result['%s_write_req' % name] = io['write_requests']
    return result


class Diagnostics(object):
    """``volume_devices(instance)`` gives ``{name: (major, minor)}`` of
    the instance's mounted volumes (none when not given).
    """

    def __init__(self, client, containers, config_drive_path,
                 volume_devices=None):
        self._client = client
        self._containers = containers
        self._config_drive_path = config_drive_path
        self._volume_devices = volume_devices or (lambda instance: {})

    def _sample(self, instance):
        info = self._containers.inspect(instance)
        stats = self._client.stats(info['Id'])
        # The network sandbox's namespace, which the container shares (the
        # privsep daemon may not open the container's own /proc entry:
        # the container holds capabilities the daemon does not).
        netns = wiring.netns_path(instance.uuid)
        links = []
        if info['State'].get('Running') and os.path.lexists(netns):
            links = linux_net.link_stats(netns)
        return (info, stats, links, instance.flavor.vcpus,
                self._config_drive_path, self._volume_devices(instance))

    def instance(self, instance):
        return instance_diagnostics(*self._sample(instance))

    def legacy(self, instance):
        return legacy(*self._sample(instance))
