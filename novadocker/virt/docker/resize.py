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

"""Resize on the same host: the container stays, its limits change.

A resize that stays on its host (``allow_resize_to_same_host``) keeps
the instance's container and applies the new flavor's CPU, memory, swap
and pids limits with ``docker update`` while it is stopped (Docker refuses
to lower a running container's memory below what it uses).  A revert
applies the old flavor's limits the same way.

Settings that only ``docker create`` can set (capabilities, a read-only or
size-limited root file system, privileged mode) and the form of the CPU
limit must be the same in both flavors; otherwise the resize is refused
before anything changes.
"""

from nova import exception
from nova.i18n import _
from oslo_log import log as logging

from novadocker.virt.docker import knobs
from novadocker.virt.docker import translator

LOG = logging.getLogger(__name__)

# create_host_config keyword -> Engine API field of ``docker update``.
_UPDATE_FIELDS = {
    'mem_limit': 'Memory',
    'memswap_limit': 'MemorySwap',
    'nano_cpus': 'NanoCpus',
    'cpu_shares': 'CpuShares',
    'cpu_period': 'CpuPeriod',
    'cpu_quota': 'CpuQuota',
    'pids_limit': 'PidsLimit',
}


def check_flavors(old_flavor, new_flavor):
    """Refuse (rolling back) a resize that changes what ``docker update``
    cannot change.
    """
    old = knobs.fixed_specs(old_flavor)
    new = knobs.fixed_specs(new_flavor)
    changed = sorted(k for k in set(old) | set(new)
                     if old.get(k) != new.get(k))
    if changed:
        raise exception.InstanceFaultRollback(
            inner_exception=exception.ResizeError(
                reason=_('flavor %(new)s differs from %(old)s in settings an '
                         'existing container keeps (%(keys)s); boot a new '
                         'server instead') % {
                    'new': new_flavor.name, 'old': old_flavor.name,
                    'keys': ', '.join(changed)}))


def update_body(flavor, image_properties, default_pids_limit, host_cpus):
    """The ``docker update`` request giving a container ``flavor``'s
    limits on an engine with ``host_cpus`` CPUs.
    """
    config = translator.merge(
        translator.host_config(flavor, default_pids_limit, host_cpus),
        knobs.resources(flavor, image_properties, default_pids_limit,
                        host_cpus))
    return {field: config[key] for key, field in _UPDATE_FIELDS.items()
            if config.get(key) is not None}


def apply_flavor(containers, instance, flavor, image_properties,
                 default_pids_limit, host_cpus):
    """Give the instance's (stopped) container ``flavor``'s limits on an
    engine with ``host_cpus`` CPUs.
    """
    body = update_body(flavor, image_properties, default_pids_limit,
                       host_cpus)
    containers.update_resources(instance, body)
    LOG.info('Applied the limits of flavor %(flavor)s: %(body)s',
             {'flavor': flavor.name, 'body': body}, instance=instance)
