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

"""Whether the Docker engine can serve this compute host; checked once,
when nova-compute starts.

The driver assumes that the engine runs on this very host: it reports
the disk of the engine's ``DockerRootDir`` from ``statvfs`` here, wires
each instance's network namespace through ``/proc/<pid>/ns/net`` of its
sandbox, and bind-mounts files (config drive, keys, network files) from
this host's ``instances_path``.  An engine on another machine would see
none of that, so it is refused.

How "on this host" is decided: the engine's ``DockerRootDir`` exists
here, and a probe container that the engine starts (the network
sandbox's program, in a throw-away container) is a process in this
host's ``/proc`` whose cgroup names that container's ID.  A container of
a remote engine has another kernel's PID, which here is either no
process or one in another cgroup; the same holds for an engine whose
socket is forwarded from another machine, and for a nova-compute that
cannot see the engine's processes (a container without the host's PID
namespace), which could not wire networks either.  The engine's name,
ID or kernel version would prove nothing: identical hosts share them.
A TLS connection over TCP to the engine on this host passes.

The network sandbox's program is built for x86_64 only, so an engine of
another architecture is refused too.
"""

import os
import uuid

from nova import exception as nova_exception
from nova.i18n import _
from nova.objects import fields as obj_fields
from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker import labels
from novadocker.virt.docker.network import sandbox

LOG = logging.getLogger(__name__)

ARCHITECTURES = (obj_fields.Architecture.X86_64,)
PROBE_ROLE = 'engine-probe'
PROC = '/proc'


def _refuse(url, reason):
    raise nova_exception.InvalidConfiguration(
        message=_('The Docker engine at %(url)s cannot serve this compute '
                  'host: %(reason)s') % {'url': url, 'reason': reason})


def check_architecture(url, info):
    """Refuse an engine whose architecture the sandbox cannot run on."""
    arch = obj_fields.Architecture.canonicalize(info['Architecture'])
    if arch not in ARCHITECTURES:
        _refuse(url, _('it runs on %(arch)s, and the network sandbox\'s '
                       'program is built for %(ours)s only') % {
            'arch': arch, 'ours': ', '.join(ARCHITECTURES)})


def probe_args(host):
    """A container that only runs the sandbox's program, marked as ours
    and as a probe (never taken for an instance).
    """
    wanted = labels.owner_labels(host)
    wanted[labels.LABEL_ROLE] = PROBE_ROLE
    return {
        'image': sandbox.IMAGE,
        'name': 'nova-probe-%s' % uuid.uuid4(),
        'command': [sandbox.PAUSE_PATH],
        'labels': wanted,
        'host_config': {
            'network_mode': 'none',
            'cap_drop': ['ALL'],
            'security_opt': ['no-new-privileges:true'],
            'read_only': True,
            'pids_limit': sandbox.PIDS,
            'mem_limit': sandbox.MEMORY,
            'memswap_limit': sandbox.MEMORY,
        },
        'detach': True,
    }


def process_in_container(pid, container_id, proc=PROC):
    """Whether ``pid`` is, in this host's ``/proc``, a process of the
    container ``container_id`` (its cgroup path names the container).
    """
    try:
        with open(os.path.join(proc, str(int(pid)), 'cgroup')) as f:
            return container_id in f.read()
    except OSError:
        return False


class EngineHost(object):
    """The checks of this module on the driver's engine."""

    def __init__(self, client, sandboxes, host):
        self._client = client
        self._sandboxes = sandboxes
        self._host = host

    def check(self):
        """Refuse an engine of another architecture, or on another host."""
        info = self._client.info()
        check_architecture(self._client.url, info)
        check_local(self._client, self._sandboxes, info, self._host)


def check_local(client, sandboxes, info, host):
    """Refuse an engine that does not run on this host (see above)."""
    root = info.get('DockerRootDir') or ''
    if not os.path.isdir(root):
        _refuse(client.url, _(
            'its data directory %s does not exist here, so it runs on '
            'another host; the driver needs the engine on the compute '
            'host itself (disk usage, network namespaces and bind-mounted '
            'files are read and written here)') % root)
    sandboxes.ensure_image()
    args = probe_args(host)
    container_id = client.create_container(**args)['Id']
    try:
        client.start(container_id)
        pid = client.inspect_container(container_id)['State'].get('Pid')
        local = bool(pid) and process_in_container(pid, container_id)
    finally:
        try:
            client.remove_container(container_id)
        except exception.DockerNotFound:
            pass
    if not local:
        _refuse(client.url, _(
            'the process of a container it started (PID %s) is not a '
            'process of that container on this host, so the engine runs '
            'on another host or in a PID namespace this nova-compute '
            'cannot see; the driver wires networks through /proc/<pid> '
            'and needs the engine on the compute host itself') % pid)
    LOG.debug('The Docker engine at %s runs on this host (probe PID %s)',
              client.url, pid)
