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

"""The labels that mark a container as ours.

Containers are owned by label: the driver touches a container only when it
carries :func:`owner_labels` of this host. Pure functions without imports,
shared by the transport (``client.py``), the translator and the modules that
list or check containers.
"""

LABEL_MANAGED_BY = 'org.openstack.nova.managed-by'
LABEL_HOST = 'org.openstack.nova.host'
LABEL_UUID = 'org.openstack.nova.instance-uuid'
LABEL_NAME = 'org.openstack.nova.instance-name'
# Set on helper containers (the network sandbox), never on an instance's.
LABEL_ROLE = 'org.openstack.nova.role'
MANAGED_BY = 'novadocker'


def owner_labels(host):
    """The labels that mark a container as ours on this compute host."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_HOST: host}


def label_filter(wanted):
    """``wanted`` labels as the ``label`` filter of Docker's list and
    events.
    """
    return ['%s=%s' % kv for kv in sorted(wanted.items())]


def instance_labels(instance, host):
    """The labels of ``instance``'s own container on ``host``."""
    found = owner_labels(host)
    found[LABEL_UUID] = instance.uuid
    found[LABEL_NAME] = instance.name
    return found
