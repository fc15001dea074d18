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

"""The package's one oslo.privsep context.

Everything the Docker driver does as root (wiring a container's network
namespace, mounting volumes and flavor disks) runs in this context's
daemon, which keeps only the capabilities listed here (the commands it
runs, such as ``mkfs.ext4`` or ``resize2fs``, run as root with the host's
capability set). nova-compute
starts it through nova-rootwrap with the line in
``etc/nova/rootwrap.d/docker.filters``; set ``[novadocker_privileged]
helper_command`` to start it some other way.
"""

from oslo_privsep import capabilities
from oslo_privsep import priv_context

sys_admin_pctxt = priv_context.PrivContext(
    'novadocker',
    cfg_section='novadocker_privileged',
    pypath=__name__ + '.sys_admin_pctxt',
    capabilities=[
        # Links, addresses, routes and bridge ports.
        capabilities.CAP_NET_ADMIN,
        # setns() into a container's network namespace; mount, unmount and
        # loop devices.
        capabilities.CAP_SYS_ADMIN,
        # Reach mount points and disk files in nova's instance directories
        # (mode 0700, owned by the nova user).
        capabilities.CAP_DAC_OVERRIDE,
    ],
)
