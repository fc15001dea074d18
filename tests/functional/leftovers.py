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

"""What a compute host keeps of servers that are gone.

``of_host()`` lists, as readable strings, everything the driver could
leave behind for one compute host: containers labelled with the host
(helper containers included), the given images' ``nova-image:`` tags,
files under ``instances_path``, mounts beneath it, netns links and host
links of the given servers, and OVS ports named after their ports. An
empty list means nothing is left.
"""

import os

import docker

from novadocker.privsep import linux_net
from novadocker.virt.docker.image import store
from novadocker.virt.docker import labels


def _containers(api, host):
    filters = {'label': labels.label_filter(labels.owner_labels(host))}
    # One the engine is still removing is listed with no names.
    return ['container %s' % name
            for c in api.containers(all=True, filters=filters)
            for name in c.get('Names') or [c['Id']]]


def image_tags(api, image_ids):
    found = []
    for image_id in image_ids:
        try:
            api.inspect_image(store.image_ref(image_id))
        except docker.errors.NotFound:
            continue
        found.append('image tag %s' % store.image_ref(image_id))
    return found


def _files(instances_path):
    found = []
    for top, dirs, files in os.walk(instances_path):
        for name in dirs + files:
            found.append('file %s' % os.path.join(top, name))
    return found


def _mounts(instances_path):
    prefix = instances_path.rstrip('/') + '/'
    with open('/proc/self/mounts') as f:
        return ['mount %s' % line.split()[1] for line in f
                if line.split()[1].startswith(prefix)]


def _links(server_ids, port_ids):
    found = []
    for uuid in server_ids:
        netns = os.path.join(linux_net.NETNS_DIR, 'nova-%s' % uuid)
        if os.path.lexists(netns):
            found.append('netns %s' % netns)
    for port_id in port_ids:
        for prefix in ('tap', 'qbr', 'qvb', 'qvo'):
            name = (prefix + port_id)[:14]
            if os.path.exists(os.path.join('/sys/class/net', name)):
                found.append('link %s' % name)
    return found


def of_host(api, host, instances_path, server_ids=(), image_ids=(),
            port_ids=()):
    """Everything left of ``host``'s servers (empty: nothing)."""
    return (_containers(api, host) + image_tags(api, image_ids) +
            _files(instances_path) + _mounts(instances_path) +
            _links(server_ids, port_ids))
