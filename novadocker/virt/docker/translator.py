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

"""Nova instance, flavor and image in; Docker container arguments out.

Pure functions: no I/O and no config lookups, so that each rule is a unit
test away.
"""

import re
import shlex
import unicodedata

from nova import exception
from nova.i18n import _

from novadocker.virt.docker import labels

_ENV_BAD = re.compile(r'[^A-Za-z0-9_]')
_HOSTNAME_BAD = re.compile(r'[^A-Za-z0-9-]')
_MIB = 1024 * 1024
CPU_SHARES_PER_VCPU = 1024
# os_command_line's bound: Linux refuses a single argument past 128 KiB
# (MAX_ARG_STRLEN), and Docker repeats the command in every container list.
COMMAND_LINE_MAX = 64 * 1024
# The kernel's largest CPU weight (cgroup v1 cpu.shares).
CPU_SHARES_MAX = 262144


def container_name(instance_uuid):
    return 'nova-%s' % instance_uuid


def hostname(instance):
    """The container's host name: nova's ``hostname`` as an RFC 1123
    label (ASCII letters, digits and inner hyphens, at most 63
    characters), else the instance's name.

    Nova keeps Latin-1 letters of a server name in ``hostname`` (``ü``);
    they are spelt without their accents, anything else goes.
    """
    text = unicodedata.normalize('NFKD', instance.hostname or '')
    label = _HOSTNAME_BAD.sub('', text.encode('ascii', 'ignore').decode())
    label = label[:63].strip('-')
    return label or instance.name[:63]


def env_name(key):
    """A metadata key as an environment variable name.

    Every character outside ``[A-Za-z0-9_]`` becomes ``_``, and a name that
    would start with a digit (or be empty) gets a leading ``_``:
    ``app.mode`` becomes ``app_mode``, ``1st`` becomes ``_1st``.
    """
    name = _ENV_BAD.sub('_', key)
    if not name or name[0].isdigit():
        name = '_' + name
    return name


def environment(metadata):
    """Instance metadata as ``NAME=value`` strings, in key order.

    When two keys give the same name, the first key in sorted order wins
    and the others are left out.  A value holding a NUL byte, which no
    process environment can carry, raises InvalidInput.
    """
    env = {}
    for key in sorted(metadata):
        value = metadata[key]
        if '\0' in value:
            raise exception.InvalidInput(reason=_(
                'metadata item %r holds a NUL byte, which an environment '
                'variable cannot carry') % key)
        env.setdefault(env_name(key), value)
    return ['%s=%s' % item for item in sorted(env.items())]


def command(image_meta):
    """The image's ``os_command_line`` in exec form, or None.

    A line longer than COMMAND_LINE_MAX characters, holding a NUL byte (the
    kernel would cut the argument there) or that shlex cannot split raises
    ImageUnacceptable.
    """
    line = image_meta.properties.get('os_command_line', None)
    if not line:
        return None

    def refuse(reason):
        raise exception.ImageUnacceptable(
            image_id=image_meta.id,
            reason=_('os_command_line %s') % reason)
    if len(line) > COMMAND_LINE_MAX:
        refuse(_('is %(n)d characters long; at most %(max)d are '
                 'accepted') % {'n': len(line), 'max': COMMAND_LINE_MAX})
    if '\0' in line:
        refuse(_('holds a NUL byte'))
    try:
        return shlex.split(line)
    except ValueError as e:
        refuse(_('cannot be parsed: %s') % e)


def cpu_limit(vcpus, host_cpus):
    """How many CPUs' worth of time a container with ``vcpus`` gets on an
    engine with ``host_cpus`` CPUs (``docker info``'s NCPU).

    Nova overcommits CPU (``cpu_allocation_ratio``), so a flavor may have
    more vCPUs than the engine has CPUs; Docker refuses a limit above
    NCPU, and the kernel could not give more anyway.  Such a container may
    use every CPU of the host, and its flavor still counts in full in
    Placement.
    """
    return min(vcpus, max(host_cpus, 1))


def host_config(flavor, pids_limit, host_cpus):
    """Limits and security settings for the container's HostConfig, on an
    engine with ``host_cpus`` CPUs.
    """
    memory = flavor.memory_mb * _MIB
    return {
        'mem_limit': memory,
        # memory + swap: no swap beyond the flavor's memory.
        'memswap_limit': memory,
        'nano_cpus': cpu_limit(flavor.vcpus, host_cpus) * 10 ** 9,
        # A relative weight: every vCPU counts, even beyond the engine's
        # CPUs, up to the kernel's largest weight.
        'cpu_shares': min(flavor.vcpus * CPU_SHARES_PER_VCPU,
                          CPU_SHARES_MAX),
        'pids_limit': pids_limit,
        'network_mode': 'none',
        'privileged': False,
        'security_opt': ['no-new-privileges:true'],
    }


def container_args(instance, image_ref, image_meta, host, pids_limit,
                   host_cpus, knobs=None, tty=False):
    """Keyword arguments for ``DockerClient.create_container`` on an
    engine with ``host_cpus`` CPUs.

    ``knobs`` (from ``knobs.settings``) are merged over the host config's
    defaults; a None value there removes a default. ``tty`` (from
    ``knobs.tty``) gives the main process a terminal.
    """
    return {
        'image': image_ref,
        'name': container_name(instance.uuid),
        'hostname': hostname(instance),
        'command': command(image_meta),
        'environment': environment(instance.metadata or {}),
        'labels': labels.instance_labels(instance, host),
        'host_config': merge(
            host_config(instance.flavor, pids_limit, host_cpus),
            knobs or {}),
        'stdin_open': True,
        'tty': tty,
        'detach': True,
    }


def merge(host_config, knobs):
    """``host_config`` with ``knobs`` applied; a None knob removes the
    setting.
    """
    merged = dict(host_config)
    for key, value in knobs.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def add_mounts(args, mounts):
    """``args`` with ``mounts`` (Docker ``Mount`` dicts) added."""
    args = dict(args)
    host_config = dict(args['host_config'])
    host_config['mounts'] = list(host_config.get('mounts') or []) + list(
        mounts)
    args['host_config'] = host_config
    return args


def with_mounts(args, mounts):
    """``args`` with ``mounts`` (``{path in the container: path on the
    host}``) bind-mounted read-only.
    """
    args = dict(args)
    host_config = dict(args['host_config'])
    host_config['mounts'] = list(host_config.get('mounts') or []) + [
        {'Type': 'bind', 'Source': source, 'Target': target,
         'ReadOnly': True}
        for target, source in sorted(mounts.items())]
    args['host_config'] = host_config
    return args
