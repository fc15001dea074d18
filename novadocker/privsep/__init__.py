"""The package's one oslo.privsep context.

Everything the Docker driver does as root (wiring a container's network
namespace) runs in this context's daemon, which keeps only the
capabilities listed here. nova-compute starts it through nova-rootwrap
with the line in ``etc/nova/rootwrap.d/docker.filters``; set
``[novadocker_privileged] helper_command`` to start it some other way.
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
        # setns() into a container's network namespace.
        capabilities.CAP_SYS_ADMIN,
    ],
)
