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

"""What this host offers to instances, from ``docker info`` and its disk.

:class:`Host` is the driver's one view of the host: Docker's version and
info and the disk of Docker's root directory; the functions turn those
facts into what nova asks for, without I/O.
"""

import os
import time

from nova.objects import fields as obj_fields
from oslo_serialization import jsonutils
from oslo_utils import units
from oslo_utils import versionutils

HYPERVISOR_TYPE = obj_fields.HVType.DOCKER


def supported_instances(info):
    """What the engine runs: native executables of its own architecture."""
    arch = obj_fields.Architecture.canonicalize(info['Architecture'])
    return [(arch, HYPERVISOR_TYPE, obj_fields.VMMode.EXE)]


def disk_usage(path):
    """(total, used, free) GiB of the file system that holds ``path``."""
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    free = st.f_bavail * st.f_frsize
    return (total // units.Gi, (total - free) // units.Gi,
            free // units.Gi)


def uptime_seconds():
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def uptime_text():
    """Like uptime(1): the time of day and how long the host has been up."""
    minutes = int(uptime_seconds()) // 60
    days, minutes = divmod(minutes, 24 * 60)
    return '%s up %d days, %d:%02d' % (time.strftime('%H:%M:%S'), days,
                                       minutes // 60, minutes % 60)


def resources(info, version, disk, nodename):
    """The ``get_available_resource`` dict from Docker's info and version.

    ``disk`` is ``disk_usage()`` of Docker's root directory.
    """
    total_gb, used_gb, free_gb = disk
    return {
        'vcpus': info['NCPU'],
        'memory_mb': info['MemTotal'] // units.Mi,
        'local_gb': total_gb,
        'vcpus_used': 0,
        'memory_mb_used': 0,
        'local_gb_used': used_gb,
        'disk_available_least': free_gb,
        'hypervisor_type': HYPERVISOR_TYPE,
        'hypervisor_version': versionutils.convert_version_to_int(
            version['Version'].split('-')[0].split('+')[0]),
        'hypervisor_hostname': nodename,
        'cpu_info': jsonutils.dumps({
            'arch': info['Architecture'],
            'topology': {'cpus': info['NCPU']},
            'features': [],
        }),
        'numa_topology': None,
        'supported_instances': supported_instances(info),
        'stats': {'uptime': int(uptime_seconds())},
    }


def _max_unit(rc, total, ratio):
    if rc == 'VCPU':
        return max(total, int(total * ratio))
    return total


def inventory(info, disk, ratios, reserved):
    """Placement inventory for VCPU, MEMORY_MB and DISK_GB.

    ``reserved`` maps each resource class to the amount kept for the host.
    A class with nothing to offer is left out rather than reported as 0.

    One instance may ask for as many vCPUs as the host offers after
    overcommit (``cpu_allocation_ratio``): a container's CPU limit is at
    most the engine's CPUs (``knobs.cpu_limit``), so a flavor with more
    vCPUs than the host has cores still boots, and counts in full.
    """
    totals = {
        'VCPU': info['NCPU'],
        'MEMORY_MB': info['MemTotal'] // units.Mi,
        'DISK_GB': disk[0],
    }
    return {
        rc: {
            'total': total,
            'min_unit': 1,
            'max_unit': _max_unit(rc, total, ratios[rc]),
            'step_size': 1,
            'allocation_ratio': ratios[rc],
            'reserved': reserved[rc],
        }
        for rc, total in totals.items() if total > 0
    }


def storage_of(info):
    """``(storage driver, backing file system)`` from ``docker info``."""
    status = dict((pair[0], pair[1]) for pair in info.get('DriverStatus') or
                  () if len(pair) == 2)
    return info.get('Driver'), status.get('Backing Filesystem')


class Host(object):
    """The Docker engine's host, as nova sees it."""

    def __init__(self, client):
        self._client = client

    def version(self):
        """``docker version``."""
        return self._client.version()

    def resources(self, nodename):
        """The ``get_available_resource`` dict."""
        info = self._client.info()
        version = self._client.version()
        return resources(info, version, disk_usage(info['DockerRootDir']),
                         nodename)

    def inventory(self, ratios, reserved):
        """Placement inventory (see :func:`inventory`)."""
        info = self._client.info()
        return inventory(info, disk_usage(info['DockerRootDir']), ratios,
                         reserved)

    def storage(self):
        """``(storage driver, backing file system)`` of the engine."""
        return storage_of(self._client.info())

    def cpus(self):
        """How many CPUs the engine has (``docker info``'s NCPU)."""
        return self._client.info()['NCPU']


def cpu_stats_of(proc_stat, cpuinfo, ticks_per_second):
    """Nova's host CPU statistics from the text of ``/proc/stat`` and
    ``/proc/cpuinfo``: cumulative nanoseconds since boot and the current
    frequency in MHz (the first CPU's; 0 when the kernel does not say).
    """
    fields = proc_stat.split('\n', 1)[0].split()
    if not fields or fields[0] != 'cpu':
        raise ValueError('/proc/stat does not start with the cpu line')
    ticks = [int(v) for v in fields[1:]] + [0] * 8
    user, nice, system, idle, iowait, irq, softirq = ticks[:7]

    def ns(value):
        return value * 1000000000 // ticks_per_second

    frequency = 0
    for line in cpuinfo.splitlines():
        key, _sep, value = line.partition(':')
        if key.strip() == 'cpu MHz':
            frequency = int(float(value))
            break
    return {'kernel': ns(system + irq + softirq), 'idle': ns(idle),
            'user': ns(user + nice), 'iowait': ns(iowait),
            'frequency': frequency}


def cpu_stats():
    with open('/proc/stat') as stat, open('/proc/cpuinfo') as cpuinfo:
        return cpu_stats_of(stat.read(), cpuinfo.read(),
                            os.sysconf('SC_CLK_TCK'))
