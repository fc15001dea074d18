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

"""Flavor extra specs and image properties in; container settings out.

Pure functions: the flavor, the image's Glance properties and a few host
facts go in, and a dict of ``create_host_config`` keyword arguments comes
out, which ``translator.host_config`` merges over its defaults.  Every value
is checked here, so that a bad one fails the build with a clear message and
is not rescheduled:

* a bad flavor extra spec raises ``InvalidInput`` (the operator's mistake);
* a bad image property raises ``ImageUnacceptable`` (the image owner's).

Flavor extra specs are set by the operator and may grant more (added
capabilities, a privileged container where ``[docker] privileged``
allows it).  Image properties are set by whoever uploads the image, so they
may only take away (drop capabilities, a read-only root file system, a
lower pids limit), apart from ``docker_privileged``, which the operator's
``[docker] privileged`` still has to allow.

The keys' names are in :mod:`novadocker.extra_specs.names`, shared with
nova-api's validators (:mod:`novadocker.extra_specs.validators`).

doc/flavor-knobs.rst lists every knob.
"""

from nova import exception
from nova.i18n import _
from oslo_utils import strutils

from novadocker.extra_specs import names

# The kernel's CFS bounds, which Docker enforces too (microseconds).
CPU_PERIOD_MIN = 1000
CPU_PERIOD_MAX = 1000000
CPU_PERIOD_DEFAULT = 100000
CPU_QUOTA_MIN = 1000
CPU_SHARES_MIN = 2
CPU_SHARES_MAX = 262144
# A quota of 1024 CPUs' worth of the longest period.
CPU_QUOTA_MAX = 1024 * CPU_PERIOD_MAX
# The kernel's PID_MAX_LIMIT: no cgroup can hold more tasks.
PIDS_MAX = 4194304

# Linux capabilities (capabilities(7)), without the CAP_ prefix.
CAPABILITIES = frozenset((
    'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF',
    'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH',
    'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE',
    'LINUX_IMMUTABLE', 'MAC_ADMIN', 'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN',
    'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP',
    'SETGID', 'SETPCAP', 'SETUID', 'SYSLOG', 'SYS_ADMIN', 'SYS_BOOT',
    'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
    'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG',
    'WAKE_ALARM'))
ALL = 'ALL'
_MIB = 1024 * 1024
# How nova keeps image properties in an instance's system metadata.
SYSMETA_PREFIX = 'image_'
SYSMETA_MAX = 255
_FIXED = (names.ROOT_DISK_LIMIT, names.CAP_ADD, names.CAP_DROP,
          names.READ_ONLY_ROOT, names.PRIVILEGED)

# Storage drivers that can bound a container's writable layer
# (``--storage-opt size``); overlay2 only on xfs mounted with pquota.
_SIZE_DRIVERS = frozenset(('btrfs', 'zfs', 'devicemapper', 'windowsfilter'))
_OVERLAY_SIZE_FS = 'xfs'


class _Values(object):
    """Reads and checks one set of values: a flavor's extra specs or an
    image's custom properties. ``error(key, value, reason)`` is the
    exception a bad value raises.
    """

    def __init__(self, values, error):
        self.values = values or {}
        self._error = error

    def fail(self, key, reason):
        raise self._error(key, self.values.get(key), reason)

    def int(self, key, low, high=None):
        return _int(self.values, key, low, high, self.fail)

    def bool(self, key):
        return _bool(self.values, key, self.fail)

    def caps(self, key, allow_all):
        return _caps(self.values, key, allow_all, self.fail)


def _flavor(flavor):
    """A flavor's extra specs: a bad one is the operator's InvalidInput."""
    def error(key, value, reason):
        return exception.InvalidInput(
            reason=_('flavor extra spec %(key)s=%(value)r: %(reason)s') % {
                'key': key, 'value': value, 'reason': reason})
    return _Values(flavor.extra_specs, error)


def _image(image_id, properties):
    """An image's properties: a bad one makes the image unacceptable."""
    def error(key, value, reason):
        return exception.ImageUnacceptable(
            image_id=image_id,
            reason=_('image property %(key)s=%(value)r: %(reason)s') % {
                'key': key, 'value': value, 'reason': reason})
    return _Values(properties, error)


def _int(values, key, low, high, fail):
    if key not in values:
        return None
    try:
        value = int(str(values[key]).strip())
    except ValueError:
        fail(key, _('not an integer'))
    if value < low or (high is not None and value > high):
        fail(key, _('must be between %(low)s and %(high)s') % {
            'low': low, 'high': high if high is not None else 'any'})
    return value


def _bool(values, key, fail):
    if key not in values:
        return None
    try:
        return strutils.bool_from_string(values[key], strict=True)
    except ValueError:
        fail(key, _('not a boolean (true or false)'))


def _caps(values, key, allow_all, fail):
    """A comma or space separated list of capability names, upper case and
    without the CAP_ prefix, sorted.
    """
    if key not in values:
        return []
    found = set()
    for word in str(values[key]).replace(',', ' ').split():
        name = word.upper()
        if name.startswith('CAP_'):
            name = name[4:]
        if name == ALL and not allow_all:
            fail(key, _('ALL is not allowed here'))
        if name != ALL and name not in CAPABILITIES:
            fail(key, _('%s is not a Linux capability') % word)
        found.add(name)
    return sorted(found)


def root_disk_supported(storage_driver, backing_fs):
    """Whether Docker's ``storage_driver`` (on ``backing_fs``, from ``docker
    info``'s DriverStatus) can limit a container's root disk size.

    overlay2 also needs its xfs mounted with ``pquota``, which ``docker
    info`` does not show; without it Docker refuses at create.
    """
    if storage_driver in _SIZE_DRIVERS:
        return True
    return storage_driver == 'overlay2' and backing_fs == _OVERLAY_SIZE_FS


def tty(flavor, image_id, properties):
    """Whether the flavor (``docker:tty``) or the image (``docker_tty``)
    asks for a TTY.
    """
    return bool(_flavor(flavor).bool(names.TTY) or
                _image(image_id, properties).bool(names.IMG_TTY))


def wants_root_disk_limit(flavor):
    """Whether :func:`settings` needs the host's storage facts."""
    return bool(_flavor(flavor).bool(names.ROOT_DISK_LIMIT))


def _cpu(flavor, specs, host_cpus):
    """CFS quota, period and shares.  A quota or period replaces the
    translator's ``nano_cpus`` (Docker refuses both together).

    Like ``nano_cpus`` (``translator.cpu_limit``), the quota never exceeds
    the ``host_cpus`` CPUs' worth of time in a period.
    """
    out = {}
    shares = specs.int(names.CPU_SHARES, CPU_SHARES_MIN, CPU_SHARES_MAX)
    if shares is not None:
        out['cpu_shares'] = shares
    quota = specs.int(names.CPU_QUOTA, CPU_QUOTA_MIN, CPU_QUOTA_MAX)
    period = specs.int(names.CPU_PERIOD, CPU_PERIOD_MIN, CPU_PERIOD_MAX)
    if quota is None and period is None:
        return out
    period = period or CPU_PERIOD_DEFAULT
    out.update(nano_cpus=None, cpu_period=period,
               cpu_quota=min(quota or flavor.vcpus * period,
                             max(host_cpus, 1) * period))
    return out


def _pids(specs, image, default):
    limit = specs.int(names.PIDS_LIMIT, 1, PIDS_MAX)
    if limit is None:
        limit = default
    wanted = image.int(names.IMG_PIDS_LIMIT, 1, PIDS_MAX)
    if wanted is not None and (limit is None or limit < 0 or
                               wanted < limit):
        limit = wanted
    return limit


def _root_disk(flavor, specs, storage):
    if not specs.bool(names.ROOT_DISK_LIMIT):
        return {}
    if not flavor.root_gb:
        specs.fail(names.ROOT_DISK_LIMIT,
                   _('the flavor has no root disk size (root_gb is 0)'))
    driver, backing_fs = storage or (None, None)
    if not root_disk_supported(driver, backing_fs):
        specs.fail(names.ROOT_DISK_LIMIT, _(
            'this host cannot limit a container\'s root disk: Docker\'s '
            'storage driver is %(driver)s on %(fs)s, and a size limit '
            'needs btrfs, zfs, devicemapper, or overlay2 on xfs mounted '
            'with pquota') % {'driver': driver, 'fs': backing_fs})
    return {'storage_opt': {'size': '%dG' % flavor.root_gb}}


def _privileged(specs, image, allowed):
    wanted_by_flavor = specs.bool(names.PRIVILEGED)
    wanted_by_image = image.bool(names.IMG_PRIVILEGED)
    if wanted_by_flavor and not allowed:
        specs.fail(names.PRIVILEGED, _('privileged containers are not '
                                       'allowed on this host ([docker] '
                                       'privileged is false)'))
    if wanted_by_image and not allowed:
        image.fail(names.IMG_PRIVILEGED, _('privileged containers are '
                                           'not allowed on this host '
                                           '([docker] privileged is '
                                           'false)'))
    return bool(wanted_by_flavor or wanted_by_image)


def resources(flavor, image_properties, default_pids_limit, host_cpus,
              image_id=None):
    """The settings ``docker update`` can change on an existing container:
    CPU, swap and pids limits (merged over ``translator.host_config``), on
    an engine with ``host_cpus`` CPUs.
    """
    specs = _flavor(flavor)
    image = _image(image_id, image_properties)
    out = _cpu(flavor, specs, host_cpus)
    if flavor.swap:
        # Docker's limit is memory plus swap.
        out['memswap_limit'] = (flavor.memory_mb + flavor.swap) * _MIB
    out['pids_limit'] = _pids(specs, image, default_pids_limit)
    return out


def fixed_specs(flavor):
    """The flavor's extra specs that shape a container for good (they
    cannot be changed by ``docker update``), and its CPU limit's form (a
    CFS quota or period cannot replace Docker's NanoCpus, or the other way
    round).  A resize keeps the container only if these are equal.
    """
    specs = flavor.extra_specs or {}
    fixed = {key: specs.get(key) for key in _FIXED}
    fixed['cfs'] = names.CPU_QUOTA in specs or names.CPU_PERIOD in specs
    if strutils.bool_from_string(specs.get(names.ROOT_DISK_LIMIT)):
        fixed['root_gb'] = flavor.root_gb
    return fixed


def settings(flavor, image_id, image_properties, default_pids_limit,
             allow_privileged, host_cpus, storage=None):
    """Container settings from the flavor's extra specs and the image's
    Glance properties: ``create_host_config`` keyword arguments to merge
    over the translator's defaults (a None value removes a default).

    ``host_cpus`` is the engine's CPU count (``docker info``'s NCPU);
    ``storage`` is ``(storage driver, backing file system)`` of the host's
    Docker engine (:func:`storage_of`), needed for a root disk limit.
    """
    specs = _flavor(flavor)
    image = _image(image_id, image_properties)
    out = resources(flavor, image_properties, default_pids_limit, host_cpus,
                    image_id)
    out.update(_root_disk(flavor, specs, storage))

    privileged = _privileged(specs, image, allow_privileged)
    cap_add = specs.caps(names.CAP_ADD, allow_all=allow_privileged)
    cap_drop = sorted(set(specs.caps(names.CAP_DROP, allow_all=True)) |
                      set(image.caps(names.IMG_CAP_DROP, allow_all=True)))
    both = set(cap_add) & set(cap_drop)
    if both:
        specs.fail(names.CAP_ADD,
                   _('also dropped: %s') % ', '.join(sorted(both)))
    if privileged:
        out['privileged'] = True
    if cap_add:
        out['cap_add'] = cap_add
    if cap_drop:
        out['cap_drop'] = cap_drop
    if (specs.bool(names.READ_ONLY_ROOT) or
            image.bool(names.IMG_READ_ONLY_ROOT)):
        out['read_only'] = True
    return out


def image_properties(system_metadata):
    """Our image properties as nova recorded them at boot
    (``image_<key>`` in the instance's system metadata), and whether any
    may have been cut (nova keeps at most 255 characters); then the full
    values have to come from Glance.
    """
    props = {}
    for key in names.IMAGE_PROPERTIES:
        value = (system_metadata or {}).get(SYSMETA_PREFIX + key)
        if value is not None:
            props[key] = value
    cut = any(len(str(v)) >= SYSMETA_MAX for v in props.values())
    return props, cut
