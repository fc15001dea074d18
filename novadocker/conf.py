"""The ``[docker]`` section of nova.conf."""

from oslo_config import cfg

docker_group = cfg.OptGroup(
    'docker',
    title='Docker options',
    help="""
Options for the Docker virt driver (``compute_driver =
novadocker.virt.docker.DockerDriver``), which runs each Nova instance as a
Docker container on this host's Docker engine.
""")

connection_opts = [
    cfg.StrOpt('host_url',
               default='unix:///var/run/docker.sock',
               help="""
Where the Docker engine's API listens.

``unix:///path/to/docker.sock`` for a local socket; the nova-compute user
needs read and write access to it, normally through membership of the
``docker`` group. ``tcp://host:2376`` for a remote engine; set ``ca_file``,
``cert_file`` and ``key_file`` as well, because an engine that listens on
TCP without TLS gives root on its host to anyone who can reach the port.
"""),
    cfg.StrOpt('ca_file',
               help="""
CA certificate (PEM) that signed the Docker engine's server certificate.

Used for ``tcp://`` URLs. When unset, the system's CA bundle is used.
"""),
    cfg.StrOpt('cert_file',
               help="""
Client certificate (PEM) presented to a Docker engine started with
``--tlsverify``. Needs ``key_file``.
"""),
    cfg.StrOpt('key_file',
               help="""
Private key (PEM) of ``cert_file``.
"""),
    cfg.BoolOpt('api_insecure',
                default=False,
                help="""
Do not verify the Docker engine's TLS certificate.

By default the server certificate must be signed by ``ca_file`` (or a
system CA) and match the host name in ``host_url``. Setting this lets any
machine that can intercept the connection impersonate the engine; use it
only on throw-away test setups.
"""),
    cfg.IntOpt('api_timeout',
               default=120,
               min=1,
               help="""
Seconds to wait for one Docker API call before giving up.

A call that times out fails the Nova operation that made it (a build is
then rescheduled). Image loads and snapshot uploads stream and are not
bounded by this value as a whole, only between two pieces of data.
"""),
]

container_opts = [
    cfg.BoolOpt('privileged',
                default=False,
                help="""
Allow containers to run privileged.

When false (the default), no flavor or image can ask for a privileged
container: such a request fails the build. When true, a flavor extra spec
or image property may ask for one. A privileged container has full root
access to this compute host, so enable this only where every tenant is
trusted with the host.
"""),
    cfg.IntOpt('pids_limit',
               default=2048,
               min=-1,
               help="""
Most processes and threads one container may run at once.

Bounds fork bombs inside an instance. -1 means no limit.
"""),
    cfg.IntOpt('stop_timeout',
               default=30,
               min=0,
               help="""
Seconds a container gets to exit after SIGTERM, on a soft reboot or a
power off that Nova asked to be clean, before it is killed.
"""),
    cfg.IntOpt('console_log_bytes',
               default=256 * 1024,
               min=1024,
               help="""
Most bytes of a container's output that ``get_console_output`` (``nova
console-log``) returns: the newest output, cut to this size.
"""),
    cfg.BoolOpt('watch_events',
                default=True,
                help="""
Follow the Docker event stream so that a container which stops outside
Nova (it exits, is killed or runs out of memory) is reported to Nova at
once, instead of at the next power state sync.
"""),
]

ALL_OPTS = connection_opts + container_opts


def register_opts(conf):
    conf.register_group(docker_group)
    conf.register_opts(ALL_OPTS, group=docker_group)


def list_opts():
    return {docker_group: ALL_OPTS}
