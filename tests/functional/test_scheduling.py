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

"""Scheduling in a cloud with a Docker host beside a "KVM" host (nova's
fake driver), placement inventories and usage, and quotas
(doc/heterogeneous-cloud.rst)."""

import nova.conf
from nova.tests.functional.api import client

from novadocker.virt.docker import driver as docker_driver
from tests.functional import base

CONF = nova.conf.CONF
KVM = 'kvm-host'
TRAIT = docker_driver.TRAIT_DOCKER


class HeterogeneousCloudTest(base.DockerFunctionalTestCase):

    def start_service(self, name, *args, **kwargs):
        if name == 'scheduler':
            self.flags(enabled_filters=list(
                CONF.filter_scheduler.enabled_filters) +
                ['AggregateInstanceExtraSpecsFilter'],
                group='filter_scheduler')
        return super().start_service(name, *args, **kwargs)

    def setUp(self):
        super().setUp()
        self.flags(compute_driver='fake.SmallFakeDriver')
        self.kvm = self._start_compute(KVM)
        self.flags(compute_driver=base.DRIVER)
        self.docker_image = self.create_docker_image()
        # A plain (VM) image: the fake driver boots it, ours refuses it.
        self.vm_image = self.glance.create(None, {
            'name': 'cirros', 'container_format': 'bare',
            'disk_format': 'qcow2', 'visibility': 'public', 'min_ram': 0,
            'min_disk': 0, 'size': 1024})

    def _boot(self, image, flavor, host=None, expected='ACTIVE'):
        body = self._build_server(image_uuid=image['id'], flavor_id=flavor,
                                  networks='none', host=host)
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected,
                                           max_retries=60)

    def _hosts(self, servers):
        return {s['OS-EXT-SRV-ATTR:host'] for s in servers}

    def test_docker_image_lands_only_on_docker_host(self):
        flavor = self.create_flavor()
        servers = [self._boot(self.docker_image, flavor) for _ in range(3)]
        self.assertEqual({self.host}, self._hosts(servers))
        # ImagePropertiesFilter: the fake host does not run docker/exe.
        server = self._boot(self.docker_image, flavor, host=KVM,
                            expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])

    def test_aggregate_and_flavor_metadata_recipe(self):
        for name, host, value in (('docker-hosts', self.host, 'docker'),
                                  ('kvm-hosts', KVM, 'kvm')):
            agg = self.api.post_aggregate(
                {'aggregate': {'name': name}})
            self.api.add_host_to_aggregate(agg['id'], host)
            self.api.post_aggregate_action(agg['id'], {'set_metadata': {
                'metadata': {'hypervisor': value}}})
        docker_flavor = self._create_flavor(
            memory_mb=128, vcpu=1, disk=1,
            extra_spec={'aggregate_instance_extra_specs:hypervisor':
                        'docker'})
        vm_flavor = self._create_flavor(
            memory_mb=128, vcpu=1, disk=1,
            extra_spec={'aggregate_instance_extra_specs:hypervisor': 'kvm'})
        vms = [self._boot(self.vm_image, vm_flavor) for _ in range(3)]
        self.assertEqual({KVM}, self._hosts(vms))
        self._boot(self.vm_image, vm_flavor, host=self.host,
                   expected='ERROR')
        containers = [self._boot(self.docker_image, docker_flavor)
                      for _ in range(2)]
        self.assertEqual({self.host}, self._hosts(containers))

    def test_availability_zone_recipe(self):
        for zone, host in (('docker', self.host), ('kvm', KVM)):
            agg = self.api.post_aggregate({'aggregate': {
                'name': zone, 'availability_zone': zone}})
            self.api.add_host_to_aggregate(agg['id'], host)
        # Boots that name no zone go to the kvm zone, never to docker
        # (nova's default zone has no aggregate, so it cannot exclude).
        self.flags(default_schedule_zone='kvm')
        flavor = self.create_flavor()
        body = self._build_server(image_uuid=self.vm_image['id'],
                                  flavor_id=flavor, networks='none')
        servers = [self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
            for _ in range(3)]
        self.assertEqual({KVM}, self._hosts(servers))
        body = self._build_server(image_uuid=self.docker_image['id'],
                                  flavor_id=flavor, networks='none',
                                  az='docker')
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        self.assertEqual(self.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('docker', server['OS-EXT-AZ:availability_zone'])

    def test_required_trait_recipe(self):
        docker_rp = self._get_provider_uuid_by_host(self.host)
        kvm_rp = self._get_provider_uuid_by_host(KVM)
        self.assertIn(TRAIT, self._get_provider_traits(docker_rp))
        self.assertNotIn(TRAIT, self._get_provider_traits(kvm_rp))
        # The driver adds its trait without dropping anyone else's.
        self.assertIn('COMPUTE_IMAGE_TYPE_RAW',
                      self._get_provider_traits(docker_rp))

        docker_flavor = self._create_flavor(
            memory_mb=128, vcpu=1, disk=1,
            extra_spec={'trait:%s' % TRAIT: 'required'})
        vm_flavor = self._create_flavor(
            memory_mb=128, vcpu=1, disk=1,
            extra_spec={'trait:%s' % TRAIT: 'forbidden'})
        vms = [self._boot(self.vm_image, vm_flavor) for _ in range(3)]
        self.assertEqual({KVM}, self._hosts(vms))
        self._boot(self.vm_image, vm_flavor, host=self.host,
                   expected='ERROR')
        containers = [self._boot(self.docker_image, docker_flavor)
                      for _ in range(2)]
        self.assertEqual({self.host}, self._hosts(containers))


class PlacementAndQuotaTest(base.DockerFunctionalTestCase):

    def _start_compute(self, host, *args, **kwargs):
        self.flags(cpu_allocation_ratio=3.0, ram_allocation_ratio=1.5,
                   disk_allocation_ratio=1.0, reserved_host_cpus=1,
                   reserved_host_memory_mb=1024, reserved_host_disk_mb=2048)
        return super()._start_compute(host, *args, **kwargs)

    def setUp(self):
        super().setUp()
        self.image = self.create_docker_image()
        self.rp = self._get_provider_uuid_by_host(self.host)

    def test_inventory_reflects_the_host(self):
        info = self.docker.info()
        inv = self._get_provider_inventory(self.rp)
        self.assertEqual(info['NCPU'], inv['VCPU']['total'])
        self.assertEqual(3.0, inv['VCPU']['allocation_ratio'])
        self.assertEqual(1, inv['VCPU']['reserved'])
        self.assertEqual(info['MemTotal'] // 1024 ** 2,
                         inv['MEMORY_MB']['total'])
        self.assertEqual(1.5, inv['MEMORY_MB']['allocation_ratio'])
        self.assertEqual(1024, inv['MEMORY_MB']['reserved'])
        self.assertEqual(2, inv['DISK_GB']['reserved'])
        self.assertGreater(inv['DISK_GB']['total'], 0)

    def test_usage_matches_flavors_and_capacity_is_enforced(self):
        small = self._create_flavor(memory_mb=128, vcpu=1, disk=1,
                                    ephemeral=0)
        big = self._create_flavor(memory_mb=256, vcpu=2, disk=2,
                                  ephemeral=0, swap=1024)
        self.boot(self.image['id'], small)
        self.boot(self.image['id'], big)
        self.assertEqual({'VCPU': 3, 'MEMORY_MB': 384, 'DISK_GB': 4},
                         self._get_provider_usages(self.rp))

        inv = self._get_provider_inventory(self.rp)
        vcpus = int((inv['VCPU']['total'] - 1) * 3.0)
        too_many = self._create_flavor(memory_mb=128, vcpu=vcpus, disk=1,
                                       ephemeral=0)
        server = self.boot(self.image['id'], too_many, expected='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        self.assertIsNone(self.container(server))

    def _refused(self, flavor, what):
        e = self.assertRaises(client.OpenStackApiException, self.boot,
                              self.image['id'], flavor)
        self.assertEqual(403, e.response.status_code)
        self.assertIn(what, str(e))

    def test_quotas_refuse_boots_beyond_them(self):
        flavor = self._create_flavor(memory_mb=128, vcpu=1, disk=1,
                                     ephemeral=0)
        self.api.update_quota({'instances': 2, 'cores': 3, 'ram': 400})
        self.boot(self.image['id'], flavor)
        self._refused(self._create_flavor(memory_mb=128, vcpu=3, disk=1,
                                          ephemeral=0), 'cores')
        self._refused(self._create_flavor(memory_mb=384, vcpu=1, disk=1,
                                          ephemeral=0), 'ram')
        self.boot(self.image['id'], flavor)
        self._refused(flavor, 'instances')
        self.assertEqual(2, len(self.driver.list_instance_uuids()))
