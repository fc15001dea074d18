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

"""The Nova-facing side of the Docker virt driver.

Each method translates one Nova request into calls on the small modules
beneath it; none of them talks to Docker directly.
"""

import contextlib
import functools

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import context as nova_context
from nova import exception
from nova.i18n import _
from nova.image import glance as nova_glance
from nova import objects
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_utils import excutils

from novadocker import conf as docker_conf
from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import console as docker_console
from novadocker.virt.docker import containers
from novadocker.virt.docker import diagnostics
from novadocker.virt.docker.disks import instancedisks
from novadocker.virt.docker import enginehost
from novadocker.virt.docker import events
from novadocker.virt.docker import exception as docker_exception
from novadocker.virt.docker import hostinfo
from novadocker.virt.docker.image import cache
from novadocker.virt.docker.image import glance as image_glance
from novadocker.virt.docker.image import registry
from novadocker.virt.docker.image import store
from novadocker.virt.docker import knobs
from novadocker.virt.docker import labels
from novadocker.virt.docker import migration as docker_migration
from novadocker.virt.docker import mounts
from novadocker.virt.docker.network import vifwait
from novadocker.virt.docker.network import wiring
from novadocker.virt.docker import password
from novadocker.virt.docker import rescue as docker_rescue
from novadocker.virt.docker import resize
from novadocker.virt.docker import rollback
from novadocker.virt.docker import snapshot as docker_snapshot
from novadocker.virt.docker import statecache
from novadocker.virt.docker import states
from novadocker.virt.docker import translator

CONF = nova.conf.CONF
docker_conf.register_opts(CONF)
LOG = logging.getLogger(__name__)

TRAIT_DOCKER = 'CUSTOM_HYPERVISOR_DOCKER'


@contextlib.contextmanager
def _not_ready_when_unreachable():
    """Periodic paths: a daemon that is down means "not ready yet"."""
    try:
        yield
    except docker_exception.DockerUnreachable as e:
        LOG.warning('Docker is not ready for nova yet: %s', e)
        raise exception.VirtDriverNotReady() from e


class DockerDriver(driver.ComputeDriver):
    """Runs each Nova instance as a Docker container."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=True,
        supports_evacuate=True,
        supports_migrate_to_same_host=True,
        supports_attach_interface=True,
        supports_multiattach=False,
        # Volume tags name the directory a volume is mounted at
        # (disks/volumes.py).
        supports_device_tagging=True,
        supports_tagged_attach_volume=True,
        supports_extend_volume=True,
        supports_trusted_certs=False,
        supports_image_type_raw=True,
    )

    def __init__(self, virtapi):
        super(DockerDriver, self).__init__(virtapi)
        self._client = docker_client.DockerClient.from_conf(CONF)
        LOG.info('Docker driver for host %s, engine at %s', CONF.host,
                 self._client.url)
        # The host this driver serves, fixed at start (CONF.host may be
        # changed later by tests that run several computes in-process).
        self._host = CONF.host
        self._containers = containers.Containers(self._client, CONF.host)
        self._host_info = hostinfo.Host(self._client)
        self._glance = image_glance.GlanceImages(nova_glance.API())
        self._images = store.ImageStore(
            self._client, self._glance, CONF.docker.shared_directory,
            CONF.docker.boot_local_images_by_name,
            registry.Registry(self._client, CONF.docker))
        self._image_cache = cache.ImageCache(
            self._client, CONF.image_cache.remove_unused_base_images,
            CONF.image_cache.remove_unused_original_minimum_age_seconds)
        self._network = wiring.Network(
            self._client, CONF.host, CONF.instances_path,
            CONF.docker.hold_program, CONF.docker.hold_timeout)
        self._engine_host = enginehost.EngineHost(
            self._client, self._network.sandboxes, self._host)
        self._events = None
        self._files = mounts.RenderedFiles(CONF.instances_path)
        self._consoles = docker_console.Consoles(self._containers,
                                                 self._client, CONF)
        self._states = statecache.StateCache(
            self._client, self._containers, CONF.docker.state_cache_seconds)
        # The driver's own power operations end the cache's current pass.
        self._containers.watch(self._states.changed)
        self._disks = instancedisks.InstanceDisks.from_conf(
            CONF, self._containers)
        self._rescues = docker_rescue.Rescues(self._client, CONF.host,
                                              CONF.instances_path)
        self._migrations = docker_migration.Migrations(
            self._client, self._images,
            CONF.docker.migration_address or CONF.my_ip,
            CONF.docker.migration_timeout, CONF.instances_path,
            self._release_moved)
        self._diagnostics = diagnostics.Diagnostics(
            self._client, self._containers, CONF.docker.config_drive_path,
            self._disks.volume_devices)

    # Host

    def init_host(self, host):
        try:
            version = self._host_info.version()
            # Refuses an engine on another host or of another architecture.
            self._engine_host.check()
        except docker_exception.DockerUnreachable as e:
            raise exception.HypervisorUnavailable(message=str(e)) from e
        # Without it no container with ports could start.
        self._network.check()
        # An engine older than docker_client.MIN_API_VERSION was refused
        # above (DockerEngineTooOld), and nova-compute does not start.
        LOG.info('Using Docker %s (API %s, accepts clients from API %s) at '
                 '%s', version.get('Version'), version.get('ApiVersion'),
                 version.get('MinAPIVersion'), self._client.url)
        self._consoles.start()
        self._migrations.remove_leftovers()
        if CONF.docker.watch_events:
            self._events = events.EventWatcher(self._client, CONF.host,
                                               self.emit_event)
            self._events.start()

    def cleanup_host(self, host):
        self._consoles.stop()
        if self._events is not None:
            self._events.stop()
            self._events = None

    def get_available_nodes(self, refresh=False):
        return [self._host]

    def get_host_uptime(self):
        return hostinfo.uptime_text()

    def get_host_cpu_stats(self):
        return hostinfo.cpu_stats()

    def get_host_ip_addr(self):
        # Where a migration's destination is: this host (resize.py).
        return CONF.my_ip

    def get_available_resource(self, nodename):
        with _not_ready_when_unreachable():
            return self._host_info.resources(nodename)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        ratios = self._get_allocation_ratios(
            provider_tree.data(nodename).inventory)
        reserved = {
            'VCPU': CONF.reserved_host_cpus,
            'MEMORY_MB': CONF.reserved_host_memory_mb,
            'DISK_GB': self._get_reserved_host_disk_gb_from_config(),
        }
        with _not_ready_when_unreachable():
            inventory = self._host_info.inventory(ratios, reserved)
        provider_tree.update_inventory(nodename, inventory)
        # Lets operators keep other images off this host (and these off
        # others) with trait:CUSTOM_HYPERVISOR_DOCKER=required|forbidden.
        provider_tree.add_traits(nodename, TRAIT_DOCKER)

    # What Nova asks about instances

    def list_instances(self):
        with _not_ready_when_unreachable():
            return [c['Labels'][labels.LABEL_NAME]
                    for c in self._containers.list()]

    def list_instance_uuids(self):
        with _not_ready_when_unreachable():
            return [c['Labels'][labels.LABEL_UUID]
                    for c in self._containers.list()]

    def get_info(self, instance, use_cache=True):
        # The periodic power sync (use_cache=True) is answered from a few
        # list calls per pass; lifecycle events re-check with an inspect.
        rescued = (self._rescues.state(instance)
                   if instance.vm_state == vm_states.RESCUED else None)
        if rescued:
            # Rescued: the rescue container is the one that runs.
            docker_state, container_id = rescued
        elif use_cache and CONF.docker.state_cache_seconds:
            docker_state, container_id = self._states.state(instance)
        else:
            info = self._containers.inspect(instance)
            docker_state, container_id = info['State'], info['Id']
        state = states.power_state_of(docker_state)
        if state == power_state.PAUSED and _suspending(instance):
            state = power_state.SUSPENDED
        return hardware.InstanceInfo(state=state, internal_id=container_id)

    def get_console_output(self, context, instance):
        data = self._containers.logs(instance, CONF.docker.console_log_bytes)
        # Every byte survives the compute manager's encode('latin-1').
        return data.decode('latin-1')

    def get_serial_console(self, context, instance):
        # A TCP endpoint bridged to the container's attach stream.
        return self._consoles.get(instance)

    def get_vnc_console(self, context, instance):
        raise docker_console.unavailable('vnc')

    def get_spice_console(self, context, instance):
        raise docker_console.unavailable('spice')

    def get_mks_console(self, context, instance):
        raise docker_console.unavailable('webmks')

    def get_instance_diagnostics(self, instance):
        return self._diagnostics.instance(instance)

    def get_diagnostics(self, instance):
        return self._diagnostics.legacy(instance)

    def trigger_crash_dump(self, instance):
        self._containers.signal(instance, CONF.docker.crash_dump_signal)

    def set_admin_password(self, instance, new_pass):
        password.set_password(self._client, self._containers, instance,
                              new_pass)

    def network_binding_host_id(self, context, instance):
        # Another compute's Neutron agent may serve this machine's ports
        # (doc/heterogeneous-cloud.rst).
        return (CONF.docker.network_binding_host or
                super().network_binding_host_id(context, instance))

    # Lifecycle

    def prepare_for_spawn(self, instance):
        instancedisks.check_boot(instance)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        store.check_format(image_meta)
        with self._engine_waited():
            image_ref = self._images.ensure(context, instance, image_meta)
            self._build(context, instance, image_ref, image_meta,
                        network_info, block_device_info, power_on,
                        injected_files, admin_password)

    def _build(self, context, instance, image_ref, image_meta, network_info,
               block_device_info, power_on, injected_files=None,
               admin_password=None):
        """Create (and start) the instance's container from ``image_ref``
        with its disks, network and files; on failure nothing is left.
        """
        props = self._images.properties(context, instance)
        host_cpus = self._host_info.cpus()
        args = translator.container_args(
            instance, image_ref, image_meta, self._host,
            CONF.docker.pids_limit, host_cpus,
            knobs=self._knobs(instance, image_meta, props, host_cpus),
            tty=knobs.tty(instance.flavor, image_meta.id, props))
        with rollback.Rollback(instance, self._engine_back) as undo:
            # Each resource's removal is registered before it is made, and
            # runs once if the build fails (rollback.py).
            args = translator.add_mounts(args, self._disks.create(
                context, instance, block_device_info))
            undo.add(self._disks.remove, context, instance, block_device_info)
            undo.add(self._files.remove, instance)
            args = translator.with_mounts(args, self._files.create(
                instance, injected_files, admin_password, network_info,
                CONF.docker.config_drive_path, CONF.docker.inject_key))
            if network_info:
                undo.add(self._network.teardown, instance, network_info)
                args = self._network.prepare(instance, network_info, args)
            undo.add(self._containers.remove, instance)
            self._containers.create(args)
            if power_on:
                self._started(instance, self._containers.start(instance))
                self._wire_new(instance, network_info)
        LOG.info('Spawned container %s', args['name'], instance=instance)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        if (instance.task_state == task_states.RESIZE_REVERTING and
                docker_migration.same_host(context, instance)):
            # Nova destroys the resized guest before reverting; resizes
            # on one host keep the one container.
            try:
                self._containers.stop(instance, 0)
            except exception.InstanceNotFound:
                pass
            return
        self.cleanup(context, instance, network_info, block_device_info,
                     destroy_disks, destroy_secrets=destroy_secrets)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self._consoles.release(instance.uuid)
        self._rescues.stop(instance)
        image = self._containers.remove_with_image(instance)
        self._rescues.forget(instance)
        pending = self._migrations.pending(instance)
        if pending:
            # A migration here that failed: its source removes its copy.
            self._migrations.release(instance, pending)
        if image or pending:
            # What a migration here loaded (even if it built nothing).
            self._migrations.remove_instance_image(instance, image)
        if instance.host and instance.host != self._host:
            # Evacuated, or moved on: the ports are the other host's.
            self._network.release(instance, network_info)
        elif destroy_vifs:
            self._network.teardown(instance, network_info)
        if destroy_disks:
            self._files.remove(instance)
            self._disks.remove(context, instance, block_device_info)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        pending = self._migrations.pending(instance)
        if pending and not self._container_exists(instance):
            # Nova's advice after a failed finish_resize: build it here.
            self._recover_migration(context, instance, pending,
                                    network_info, block_device_info)
            return
        timeout = CONF.docker.stop_timeout if reboot_type == 'SOFT' else 0
        self._containers.stop(instance, timeout)
        self._disks.ensure(context, instance, block_device_info)
        self._start(instance, network_info)

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._containers.stop(instance, timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._disks.ensure(context, instance, block_device_info)
        self._start(instance, network_info)

    def poll_rebooting_instances(self, timeout, instances):
        # A reboot here returns once the container runs again: no instance
        # is ever left rebooting.
        pass

    def pause(self, instance):
        self._containers.pause(instance)

    def unpause(self, instance):
        self._containers.unpause(instance)

    def suspend(self, context, instance):
        # Freezes every process of the container; its memory stays resident.
        self._containers.pause(instance)

    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        self._ensure_network(instance, network_info)
        self._containers.unpause(instance)

    def soft_delete(self, instance):
        self._containers.stop(instance, CONF.docker.stop_timeout)

    def restore(self, instance):
        self._start(instance)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        self._disks.ensure(context, instance, block_device_info)
        self._start(instance, network_info)

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        # A container sees the server's root file system at /rescue, and
        # root's password is rescue_password where it can be (rescue.py).
        store.check_format(image_meta)
        image_ref = self._images.ensure(context, instance, image_meta)
        self._containers.stop(instance, 0)
        args = translator.container_args(
            instance, image_ref, image_meta, self._host,
            CONF.docker.pids_limit, self._host_info.cpus())
        # The rescue container gets the server's ports (held and wired as
        # the server's own container is).
        network = None
        if network_info:
            network = functools.partial(self._network.prepare, instance,
                                        network_info)
        self._rescues.start(instance, self._containers.inspect(instance),
                            args, network, rescue_password)
        if network_info:
            try:
                self._network.wire(
                    instance, network_info,
                    functools.partial(self._rescues.inspect, instance))
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._rescues.stop(instance)

    def unrescue(self, context, instance):
        self._rescues.stop(instance)
        self._start(instance)

    def manage_image_cache(self, context, all_instances):
        with _not_ready_when_unreachable():
            self._image_cache.prune(all_instances)

    def cache_image(self, context, image_id):
        # openstack aggregate cache image: the first boot's load, ahead.
        return self._images.cache(context, image_id)

    def snapshot(self, context, instance, image_id, update_task_state):
        try:
            self._containers.inspect(instance)
        except exception.InstanceNotFound as e:
            raise exception.InstanceNotRunning(
                instance_id=instance.uuid) from e
        docker_snapshot.take(context, instance, image_id, update_task_state,
                             self._containers, self._images, self._glance,
                             self._engine_back)

    # Resize and cold migration: on the same host the container stays and
    # gets the other flavor's limits (resize.py); to another host its
    # writable layer streams there and it is rebuilt (migration.py).

    def migrate_disk_and_power_off(self, context, instance, dest,
                                   flavor, network_info,
                                   block_device_info=None,
                                   timeout=0, retry_interval=0):
        self._disks.check_resize(instance, flavor)
        if not docker_migration.same_host(context, instance):
            return self._send(instance, network_info, block_device_info,
                              timeout)
        resize.check_flavors(instance.flavor, flavor)
        self._containers.stop(instance, timeout)
        return '{}'

    def _send(self, instance, network_info, block_device_info, timeout):
        docker_migration.check_movable(instance)
        info = self._containers.inspect(instance)
        self._containers.stop(instance, timeout)
        try:
            disk_info = self._migrations.send(instance, info,
                                              self._files.carried(instance))
            self._network.park(instance, network_info)
            self._disks.disconnect_volumes(instance, block_device_info)
        except Exception as e:
            LOG.exception('Sending the container failed; it stays here',
                          instance=instance)
            self._migrations.close(instance)
            if info['State'].get('Running'):
                self.power_on(None, instance, network_info,
                              block_device_info)
            raise exception.InstanceFaultRollback(
                inner_exception=exception.MigrationError(reason=str(e)))
        return disk_info

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        if docker_migration.same_host(context, instance, migration):
            self._apply_flavor(instance, power_on, network_info)
            return
        # Until built, a hard reboot here finishes it (reboot).
        self._migrations.remember(instance, disk_info)
        self._migrate_in(context, instance, disk_info, image_meta,
                         network_info, block_device_info, power_on)
        self._migrations.built(instance, disk_info)

    def _migrate_in(self, context, instance, disk_info, image_meta,
                    network_info, block_device_info, power_on,
                    loaded=False):
        """Build the container from the source's layer (``loaded``: the
        one a failed build here kept, if any).
        """
        if not (loaded and self._migrations.has_layer(instance)):
            self._migrations.receive(instance, disk_info)
        injected_files, admin_password = self._files.from_carried(
            docker_migration.carried_files(disk_info))
        self._build(context, instance,
                    docker_migration.instance_ref(instance.uuid), image_meta,
                    network_info, block_device_info, power_on,
                    injected_files, admin_password)

    def _container_exists(self, instance):
        try:
            self._containers.inspect(instance)
        except exception.InstanceNotFound:
            return False
        return True

    def _recover_migration(self, context, instance, disk_info, network_info,
                           block_device_info):
        LOG.info('Building the server that its migration here did not',
                 instance=instance)
        self._migrate_in(context, instance, disk_info,
                         objects.ImageMeta.from_instance(instance),
                         network_info, block_device_info, True, loaded=True)
        self._migrations.release(instance, disk_info)

    def _release_moved(self, instance):
        # The destination built the server after a failed finish, or it
        # was deleted there: no confirm will come, this copy goes now.
        self.cleanup(nova_context.get_admin_context(), instance,
                     instance.get_network_info())

    def confirm_migration(self, context, migration, instance, network_info):
        if docker_migration.same_host(context, instance, migration):
            # The one container already runs with the new flavor's limits.
            return
        self._migrations.close(instance)
        # instance.host is the destination now: our ports are released,
        # not torn down (cleanup).
        self.cleanup(context, instance, network_info)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        # instance.flavor is the old flavor again; a container that went
        # elsewhere never left this host, nor changed.
        self._migrations.close(instance)
        self._disks.ensure(context, instance, block_device_info)
        self._apply_flavor(instance, power_on, network_info)

    def _apply_flavor(self, instance, power_on, network_info):
        props, _cut = knobs.image_properties(instance.system_metadata)
        resize.apply_flavor(self._containers, instance, instance.flavor,
                            props, CONF.docker.pids_limit,
                            self._host_info.cpus())
        if power_on:
            self._start(instance, network_info)

    @contextlib.contextmanager
    def _engine_waited(self):
        """A build that fails because the engine stopped answering (it
        died) waits for it to come back before failing, so that Nova's
        clean-up of the failed build (``destroy``) finds it and the build
        is rescheduled rather than aborted.
        """
        try:
            yield
        except docker_exception.DockerUnreachable:
            self._engine_back()
            raise

    def _engine_back(self):
        """Wait (``[docker] engine_return_timeout``) for an engine that
        stopped answering; whether it answers again.
        """
        LOG.warning('The Docker engine at %s does not answer; waiting up to '
                    '%ss for it to come back', self._client.url,
                    CONF.docker.engine_return_timeout)
        return self._client.answers_within(
            CONF.docker.engine_return_timeout)

    def _knobs(self, instance, image_meta, props, host_cpus):
        """Container settings from the flavor's extra specs and the
        image's custom properties (knobs.py), on an engine with
        ``host_cpus`` CPUs.
        """
        storage = None
        if knobs.wants_root_disk_limit(instance.flavor):
            storage = self._host_info.storage()
        return knobs.settings(instance.flavor, image_meta.id, props,
                              CONF.docker.pids_limit,
                              CONF.docker.privileged, host_cpus, storage)

    # Volumes and flavor disks: filesystems mounted on the host and shown
    # in the container (disks/).

    def get_volume_connector(self, instance):
        return self._disks.connector()

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        self._disks.attach(context, instance, connection_info, mountpoint,
                           encryption)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        self._disks.detach(context, instance, connection_info, mountpoint)

    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        return self._disks.extend(context, instance, connection_info)

    def swap_volume(self, context, old_connection_info, new_connection_info,
                    instance, mountpoint, resize_to):
        raise NotImplementedError(_(
            'The Docker driver cannot swap an attached volume (Cinder '
            'retype or migration with data copy); detach it first'))

    # Networking: each port is a veth into the network namespace of the
    # instance's container, wired before its entrypoint runs
    # (network/wiring.py, network/hold.py).

    def plug_vifs(self, instance, network_info):
        # Run for every instance at each nova-compute start: re-wires only
        # what is missing, and only for containers that run.
        if not network_info:
            return
        try:
            info = self._containers.inspect(instance)
        except exception.InstanceNotFound:
            return
        self._network.ensure(instance, network_info, lambda: info)

    def unplug_vifs(self, instance, network_info):
        self._network.unplug(instance, network_info)

    def attach_interface(self, context, instance, image_meta, vif):
        try:
            self._network.attach(instance, vif,
                                 self._containers.inspect(instance))
        except exception.InterfaceAttachFailed:
            raise
        except Exception as e:
            LOG.exception('Attaching port %s failed: %s', vif['id'], e,
                          instance=instance)
            raise wiring.attach_failed(instance) from e

    def detach_interface(self, context, instance, vif):
        self._network.detach(instance, vif)

    def _ensure_network(self, instance, network_info):
        if network_info:
            self._network.ensure(
                instance, network_info,
                functools.partial(self._containers.inspect, instance))

    def _start(self, instance, network_info=None):
        """Start the container; one with ports runs its entrypoint once
        its network is wired (``network_info``, else the recorded ports).
        """
        inspect = functools.partial(self._containers.inspect, instance)
        if self._started(instance, self._containers.start(instance)):
            try:
                self._network.wire(instance, network_info, inspect)
            except Exception:
                # Unwired, its entrypoint would never run: the container
                # stops, so that Nova sees the failure (a hard reboot
                # starts it again).
                with excutils.save_and_reraise_exception():
                    self._containers.stop(instance, 0)
        else:
            self._network.ensure(instance, network_info, inspect)

    def _started(self, instance, info):
        """After a start: whether the container was started (its inspect
        from before); where its layers are, for a rescue.
        """
        if info:
            self._rescues.remember(instance, info)
        return info

    def _wire_new(self, instance, network_info):
        """Wire a new container's ports while waiting for Neutron to
        report them plugged.
        """
        if network_info:
            vifwait.setup(
                self.virtapi, instance, network_info,
                CONF.vif_plugging_timeout, CONF.vif_plugging_is_fatal,
                functools.partial(
                    self._network.wire, instance, network_info,
                    functools.partial(self._containers.inspect, instance),
                    new=True))


def _suspending(instance):
    return (instance.vm_state == vm_states.SUSPENDED or
            instance.task_state == task_states.SUSPENDING)
