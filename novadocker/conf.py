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

"""The ``[docker]`` section of nova.conf."""

from oslo_config import cfg
from oslo_config import types

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

The engine must run on this compute host: the driver reads its disk
usage, wires network namespaces through ``/proc`` and bind-mounts files
from ``instances_path``, so nova-compute refuses to start with an engine
on another host, or one whose processes it cannot see.

``unix:///path/to/docker.sock`` for a local socket; the nova-compute user
needs read and write access to it, normally through membership of the
``docker`` group. ``tcp://127.0.0.1:2376`` (or another address of this
host) for the local engine over TCP: always TLS, with the server
certificate verified (see ``ca_file``) and the client certificate from
``cert_file`` and ``key_file``. ``http://127.0.0.1:2375`` speaks plain
HTTP; an engine reachable that way gives root on its host to anyone who
can reach the port, so use it only on an isolated test network.
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
    cfg.IntOpt('engine_return_timeout',
               default=30,
               min=0,
               help="""
Seconds a failed operation waits for a Docker engine that stopped
answering (it died or is restarting) to come back before it removes
what the operation had made there: a failed build's container and
network sandbox, a failed snapshot's committed image.

An engine that dies in the middle of a build fails the build (it is
rescheduled); an engine supervisor such as systemd usually restarts it
within seconds, and the build's containers are then removed at once.
After this many seconds without an answer they are left on the engine
and logged (the periodic clean-up of deleted instances removes a
container left behind; a network sandbox must be removed by hand). 0:
do not wait.
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
    cfg.StrOpt('crash_dump_signal',
               default='SIGQUIT',
               regex=r'^SIG[A-Z0-9+-]+$',
               help="""
The signal ``openstack server dump create`` (Nova's trigger_crash_dump)
sends to the main process of a running instance's container.

A name such as ``SIGQUIT`` (the default: a JVM prints its thread dump, many
runtimes dump core), ``SIGABRT`` or ``SIGUSR1``. What the process does with
it is up to the image; a process that ignores the signal does nothing.
"""),
]

image_opts = [
    cfg.StrOpt('shared_directory',
               help="""
Directory where image tarballs (``docker save`` output) may be found before
asking Glance, one file per image named after the Glance image id, e.g. an
NFS export shared by all compute hosts.

When ``<shared_directory>/<image id>`` exists it is loaded instead of
downloading the image from Glance; its content is still checked against
the checksums Glance recorded. When it is missing, the image comes from
Glance. Unset (the default): always Glance.
"""),
    cfg.BoolOpt('boot_local_images_by_name',
                default=True,
                help="""
Boot a Glance image from a Docker image that already exists on this host
under the Glance image's name (e.g. ``busybox:latest``), without
downloading it.

Images the driver loads from Glance are known by their Glance id and are
not affected. Turn this off when users must not be able to boot the
operator's local Docker images by naming a Glance image after them: every
image then comes from Glance, and its content is the content Glance holds.
"""),
]

instance_files_opts = [
    cfg.StrOpt('config_drive_path',
               default='/config-drive',
               regex=r'^/[^:]+$',
               help="""
Where an instance's config drive appears inside its container.

Instead of an ISO image, a container gets the config drive's files
(``openstack/latest/meta_data.json``, ``user_data``,
``network_data.json``, ``vendor_data.json``, ``vendor_data2.json`` and the
rest of the OpenStack and EC2 trees) as a read-only directory mounted at
this absolute path. ``/config-drive`` is where cloud-init's ConfigDrive
data source looks for such a directory. An instance gets one when it has
user data, a key pair or metadata, when the user asks for a config drive,
when the image has ``img_config_drive=mandatory``, or when
``[DEFAULT] force_config_drive`` is set. The files are written when the
instance is built and removed when it is deleted.
"""),
    cfg.BoolOpt('inject_key',
                default=False,
                help="""
Put the instance's key pair into ``/root/.ssh/authorized_keys`` of its
container.

The file is written once, when the instance is built, and bind-mounted
read-only over that path, hiding any ``authorized_keys`` the image has; it
is never appended to on restart. An image that runs sshd then accepts the
key pair for root. sshd also wants the file owned by root, which it is
when nova-compute runs as root. The key pair is in the config drive
(``public_keys`` in ``meta_data.json``) either way.
"""),
]

disk_opts = [
    cfg.StrOpt('volumes_path',
               default='/volumes',
               regex=r'^/[^:]+$',
               help="""
Where an instance's Cinder volumes appear inside its container.

Each attached volume's filesystem is mounted at ``<volumes_path>/<name>``,
where ``<name>`` is the attachment's tag (``openstack server add volume
--tag data`` gives ``/volumes/data``) or, without a tag, the device name
Nova gave the attachment (``/volumes/vdb``). Volumes come and go while
the container runs; the directory itself is read-only inside it.
"""),
    cfg.StrOpt('ephemeral_path',
               default='/ephemeral',
               regex=r'^/[^:]+$',
               help="""
Where an instance's ephemeral disks appear inside its container.

Ephemeral disk N is mounted at ``<ephemeral_path>N``: the flavor's
``ephemeral_gb`` disk at ``/ephemeral0``. Each is an ext4 filesystem in a
file under ``instances_path``, kept for the life of the instance.
"""),
    cfg.ListOpt('volume_filesystems',
                default=['ext4', 'ext3', 'ext2', 'xfs'],
                item_type=types.String(
                    choices=['ext2', 'ext3', 'ext4', 'xfs']),
                help="""
Filesystems a Cinder volume may carry to be mounted.

A volume with one of these filesystems is mounted as it is; a blank
volume (no signature at all, first and last MiB zero) is formatted ext4;
anything else (partition tables, other signatures, unknown data) is
refused and left untouched. The host's kernel reads these filesystems,
so list only ones whose drivers you trust with user-made images. Allowed
values: ext2, ext3, ext4, xfs.
"""),
    cfg.IntOpt('volume_busy_timeout',
               default=20,
               min=0,
               help="""
Seconds a volume detach waits for the filesystem to stop being used.

A filesystem that a process inside the container still uses cannot be
unmounted; the detach retries for this long, then fails and the volume
stays attached and mounted (it is never unmounted lazily).
"""),
    cfg.BoolOpt('volume_use_multipath',
                default=False,
                help="""
Connect Cinder volumes through multipath (os-brick's ``use_multipath``);
needs multipathd on this host.
"""),
]

console_opts = [
    cfg.IntOpt('console_idle_timeout',
               default=900,
               min=1,
               help="""
Seconds a serial console connection may stay without traffic in either
direction before it is closed.

Applies to the endpoint that ``nova-serialproxy`` connects to when
``[serial_console] enabled`` is set. The user reconnects with a new
console URL.
"""),
    cfg.IntOpt('console_session_timeout',
               default=8 * 3600,
               min=1,
               help="""
Seconds a serial console connection may last in all, busy or not, before
it is closed.
"""),
]

registry_opts = [
    cfg.StrOpt('registry_auth_file',
               help="""
Credentials for private registries, in the Docker client's
``config.json`` format (``{"auths": {"registry.example:5000": {"auth":
"<base64 of user:password>"}}}``).

Used when a Glance image without data names a registry reference in its
``docker_image_ref`` property: the driver pulls that reference through
the Docker engine with the credentials this file holds for its registry.
Credentials never come from the image. Unset: pulls are anonymous.
"""),
    cfg.BoolOpt('registry_allow_tags',
                default=False,
                help="""
Allow ``docker_image_ref`` to name a tag (``app:1.2``) instead of a digest
(``app@sha256:...``).

By default a registry reference must be pinned by digest, so that what an
instance boots cannot change after the Glance image was made. A tag may
point at other content tomorrow; allow tags only where the registry's
owners are trusted to keep them stable.
"""),
]

network_opts = [
    cfg.StrOpt('network_binding_host',
               help="""
The host name Neutron binds this compute's ports to.

Unset (the default): the compute's own ``host``, as for any driver. Set it
to run a Docker nova-compute beside another compute service (e.g. libvirt)
on the same machine: give each its own ``[DEFAULT] host`` and set this to
the ``host`` of the Neutron agent that already serves the machine (the
other compute's name). Neutron then binds the Docker instances' ports to
that agent, and one Open vSwitch agent serves both computes. See
``doc/heterogeneous-cloud.rst``.
"""),
    cfg.StrOpt('hold_program',
               default='/usr/local/libexec/novadocker/novadocker-hold',
               help="""
The static program that holds the entrypoint of a container with Neutron
ports until its network is wired.

Such a container starts this program (bind-mounted read-only), the driver
wires the container's network namespace and then tells the program to
execute the image's entrypoint and command, unchanged. Build it once per
host with ``novadocker-build-hold`` (Debian's ``gcc`` and ``libc6-dev``);
nova-compute refuses to start when it is missing. It must be readable and
executable by every user (also a remapped root, ``--userns-remap``).
"""),
    cfg.IntOpt('hold_timeout',
               default=60,
               min=1,
               help="""
Seconds the driver waits, after starting a container with ports, for its
hold program to be ready to be released.

A container whose program did not start within this time (or that exited
before) fails the operation that started it, with its network removed.
"""),
]

periodic_opts = [
    cfg.IntOpt('state_cache_seconds',
               default=10,
               min=0,
               help="""
Seconds one listing of this host's containers answers Nova's periodic
power state sync.

The sync asks about every instance in turn; with a cache the driver
answers all of them from a few Docker list calls instead of one inspect
per container, so a pass costs the same whatever the number of instances.
A container's state may then be this many seconds old when the sync reads
it (Docker events still report changes at once, see ``watch_events``).
0 inspects every container on every question.
"""),
]

migration_opts = [
    cfg.StrOpt('migration_address',
               help="""
Address on which this host serves an instance's writable layer to the
destination of a cold migration or a resize to another host.

Each migration opens a TLS endpoint on an ephemeral port of this address,
with a certificate made for it alone and a random token, both handed to
the destination over Nova's RPC. It closes when the destination has built
the server, at confirm, revert or the server's deletion, or after
``migration_timeout`` when the destination never fetched the layer. When
unset, ``[DEFAULT] my_ip`` is used. Compute hosts must reach each other on
this address (any TCP port).
"""),
    cfg.IntOpt('migration_timeout',
               default=600,
               min=1,
               help="""
Seconds the source of a cold migration waits for the destination to fetch
the writable layer the first time.

After that the endpoint closes and the committed layer is removed; the
destination's ``finish_migration`` then fails and the source container
stays, stopped, with its data. Once fetched, the endpoint stays until the
destination has built the server (it fetches again when a first attempt
failed, also from a hard reboot), or until confirm, revert or the
server's deletion.
"""),
]

ALL_OPTS = (connection_opts + container_opts + image_opts +
            instance_files_opts + disk_opts + console_opts + registry_opts +
            network_opts + periodic_opts + migration_opts)


def register_opts(conf):
    conf.register_group(docker_group)
    conf.register_opts(ALL_OPTS, group=docker_group)


def list_opts():
    return [(docker_group, ALL_OPTS)]
