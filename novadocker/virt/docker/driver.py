"""The Nova-facing side of the Docker virt driver.

Each method translates one Nova request into calls on the small modules
beneath it; none of them talks to Docker directly.
"""

import contextlib

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova.i18n import _
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker import conf as docker_conf
from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import containers
from novadocker.virt.docker import events
from novadocker.virt.docker import exception as docker_exception
from novadocker.virt.docker import hostinfo
from novadocker.virt.docker import images
from novadocker.virt.docker import snapshot as docker_snapshot
from novadocker.virt.docker import states
from novadocker.virt.docker import translator

CONF = nova.conf.CONF
docker_conf.register_opts(CONF)
LOG = logging.getLogger(__name__)

CONTAINER_FORMAT = 'docker'


@contextlib.contextmanager
def _not_ready_when_unreachable():
    """Periodic paths: a daemon that is down means "not ready yet"."""
    try:
        yield
    except docker_exception.DockerUnreachable as e:
        LOG.warning('%s', e)
        raise exception.VirtDriverNotReady() from e


class DockerDriver(driver.ComputeDriver):
    """Runs each Nova instance as a Docker container."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=False,
        supports_evacuate=False,
        supports_migrate_to_same_host=False,
        supports_attach_interface=False,
        supports_multiattach=False,
        supports_trusted_certs=False,
        supports_image_type_raw=True,
    )

    def __init__(self, virtapi, read_only=False):
        super(DockerDriver, self).__init__(virtapi)
        self._client = docker_client.DockerClient.from_conf(CONF)
        self._containers = containers.Containers(self._client, CONF.host)
        self._images = images.ImageStore(self._client)
        self._events = None

    # Host

    def init_host(self, host):
        try:
            version = self._client.version()
        except docker_exception.DockerUnreachable as e:
            raise exception.HypervisorUnavailable(message=str(e)) from e
        LOG.info('Using Docker %s (API %s) at %s', version.get('Version'),
                 version.get('ApiVersion'), self._client.url)
        if CONF.docker.watch_events:
            self._events = events.EventWatcher(self._client, CONF.host,
                                               self.emit_event)
            self._events.start()

    def cleanup_host(self, host):
        if self._events is not None:
            self._events.stop()
            self._events = None

    def get_available_nodes(self, refresh=False):
        return [CONF.host]

    def get_host_uptime(self):
        return hostinfo.uptime_text()

    def get_available_resource(self, nodename):
        with _not_ready_when_unreachable():
            info = self._client.info()
            version = self._client.version()
        return hostinfo.resources(info, version,
                                  hostinfo.disk_usage(info['DockerRootDir']),
                                  nodename)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        with _not_ready_when_unreachable():
            info = self._client.info()
        ratios = self._get_allocation_ratios(
            provider_tree.data(nodename).inventory)
        reserved = {
            'VCPU': CONF.reserved_host_cpus,
            'MEMORY_MB': CONF.reserved_host_memory_mb,
            'DISK_GB': self._get_reserved_host_disk_gb_from_config(),
        }
        provider_tree.update_inventory(nodename, hostinfo.inventory(
            info, hostinfo.disk_usage(info['DockerRootDir']), ratios,
            reserved))

    # What Nova asks about instances

    def list_instances(self):
        with _not_ready_when_unreachable():
            return [c['Labels'][translator.LABEL_NAME]
                    for c in self._containers.list()]

    def list_instance_uuids(self):
        with _not_ready_when_unreachable():
            return [c['Labels'][translator.LABEL_UUID]
                    for c in self._containers.list()]

    def get_info(self, instance, use_cache=True):
        info = self._containers.inspect(instance)
        state = states.power_state_of(info['State'])
        if state == power_state.PAUSED and _suspending(instance):
            state = power_state.SUSPENDED
        return hardware.InstanceInfo(state=state, internal_id=info['Id'])

    def get_console_output(self, context, instance):
        data = self._containers.logs(instance, CONF.docker.console_log_bytes)
        # Every byte survives the compute manager's encode('latin-1').
        return data.decode('latin-1')

    # Lifecycle

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        _check_format(image_meta)
        image_ref = self._images.ensure(context, instance, image_meta)
        args = translator.container_args(instance, image_ref, image_meta,
                                         CONF.host, CONF.docker.pids_limit)
        self._containers.create(instance, args)
        try:
            if power_on:
                self._containers.start(instance)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._containers.remove(instance)
        LOG.info('Spawned container %s', args['name'], instance=instance)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        self._containers.remove(instance)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self._containers.remove(instance)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        timeout = CONF.docker.stop_timeout if reboot_type == 'SOFT' else 0
        self._containers.stop(instance, timeout)
        self._containers.start(instance)

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._containers.stop(instance, timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._containers.start(instance)

    def pause(self, instance):
        self._containers.pause(instance)

    def unpause(self, instance):
        self._containers.unpause(instance)

    def suspend(self, context, instance):
        # Freezes every process of the container; its memory stays resident.
        self._containers.pause(instance)

    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        self._containers.unpause(instance)

    def soft_delete(self, instance):
        self._containers.stop(instance, CONF.docker.stop_timeout)

    def restore(self, instance):
        self._containers.start(instance)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        self._containers.start(instance)

    def snapshot(self, context, instance, image_id, update_task_state):
        try:
            self._containers.inspect(instance)
        except exception.InstanceNotFound as e:
            raise exception.InstanceNotRunning(
                instance_id=instance.uuid) from e
        docker_snapshot.take(context, instance, image_id, update_task_state,
                             self._containers, self._client)

    # Networking: wired by the VIF layer (not yet); nothing to plug here.

    def plug_vifs(self, instance, network_info):
        pass

    def unplug_vifs(self, instance, network_info):
        pass


def _check_format(image_meta):
    fmt = image_meta.obj_attr_is_set('container_format') and \
        image_meta.container_format
    if fmt != CONTAINER_FORMAT:
        raise exception.ImageUnacceptable(
            image_id=image_meta.id,
            reason=_('container_format is %(fmt)s; the Docker driver boots '
                     'only container_format=%(docker)s images') % {
                'fmt': fmt, 'docker': CONTAINER_FORMAT})


def _suspending(instance):
    return (instance.vm_state == vm_states.SUSPENDED or
            instance.task_state == task_states.SUSPENDING)
