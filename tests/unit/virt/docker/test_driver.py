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

from unittest import mock

import fixtures
import requests

from nova.compute import power_state
from nova import context
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit import fake_instance
from nova.virt import driver as nova_driver
from nova.virt import fake

from novadocker.virt.docker import driver
from novadocker.virt.docker import exception as docker_exception
from tests.unit.virt.docker import docker_http

IMAGE_ID = 'f0e1d2c3-0000-4000-8000-000000000001'


def _image(container_format='docker'):
    return objects.ImageMeta.from_dict({
        'id': IMAGE_ID, 'name': 'busybox', 'container_format':
        container_format, 'disk_format': 'raw', 'properties': {}})


class DockerDriverTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.flags(host='cmp1')
        self.flags(host_url=docker_http.URL, watch_events=False,
                   group='docker')
        self.http = self.useFixture(docker_http.DockerHTTP())
        self.ctx = context.get_admin_context()
        self.instance = fake_instance.fake_instance_obj(self.ctx,
                                                        hostname='web',
                                                        host='cmp1')
        self.instance.metadata = {}
        self.instance.system_metadata = {}
        self.name = '/containers/nova-%s' % self.instance.uuid
        # Spawn makes the instance's volumes directory a shared mount
        # (privsep); the Docker side is what these tests check.
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        self.useFixture(fixtures.MockPatch(
            'novadocker.privsep.storage.make_shared'))
        self.driver = driver.DockerDriver(fake.FakeVirtAPI())

    def _inspect(self, **kwargs):
        self.http.on('GET', self.name + '/json',
                     json=docker_http.container(self.instance.uuid, **kwargs))

    def test_public_api_signatures(self):
        baseinst = nova_driver.ComputeDriver(fake.FakeVirtAPI())
        self.assertPublicAPISignatures(baseinst, self.driver)

    def test_loads_through_nova_loader(self):
        loaded = nova_driver.load_compute_driver(
            fake.FakeVirtAPI(), 'novadocker.virt.docker.DockerDriver')
        self.assertIsInstance(loaded, driver.DockerDriver)

    def test_capabilities(self):
        caps = self.driver.capabilities
        self.assertTrue(caps['supports_image_type_raw'])
        self.assertTrue(caps['supports_evacuate'])
        self.assertEqual(set(nova_driver.ComputeDriver.capabilities),
                         set(caps))

    def test_nodename_is_host(self):
        self.assertEqual(['cmp1'], self.driver.get_available_nodes())

    def test_spawn_refuses_other_formats_before_docker(self):
        self.assertRaises(exception.ImageUnacceptable, self.driver.spawn,
                          self.ctx, self.instance, _image('bare'), [], None,
                          {})
        self.assertEqual([], self.http.calls('POST'))

    def test_spawn_removes_container_when_start_fails(self):
        self.instance.flavor.vcpus = 4
        self.http.on('GET', '/images/nova-image:%s/json' % IMAGE_ID,
                     json={'Id': 'sha256:abc'})
        self.http.on('GET', '/info', json={'NCPU': 2, 'Driver': 'overlay2'})
        self.http.on('POST', '/containers/create', json={'Id': 'c1'})
        self._inspect(status='created', running=False)
        self.http.on('POST', '/containers/c0ffee%s/start'
                     % self.instance.uuid.replace('-', '')[:10],
                     status_code=500, json={'message': 'no'})
        self.http.on('DELETE', '/containers/c0ffee%s'
                     % self.instance.uuid.replace('-', '')[:10],
                     status_code=204)
        self.assertRaises(docker_exception.DockerServerError,
                          self.driver.spawn, self.ctx, self.instance,
                          _image(), [], None, {})
        self.assertEqual(1, len(self.http.calls('DELETE')))
        body = self.http.calls('POST', '/containers/create')[0].json()
        self.assertEqual('nova-image:' + IMAGE_ID, body['Image'])
        self.assertEqual('none', body['HostConfig']['NetworkMode'])
        # The instance's 4 vCPUs on an engine with 2 CPUs.
        self.assertEqual(2 * 10 ** 9, body['HostConfig']['NanoCpus'])
        self.assertEqual(4 * 1024, body['HostConfig']['CpuShares'])

    def test_failed_spawn_undoes_each_resource_once(self):
        calls = []

        class Recorder(object):
            def __init__(self, name, fail=None):
                self.name, self.fail = name, fail

            def __getattr__(self, method):
                def call(*args, **kwargs):
                    calls.append('%s.%s' % (self.name, method))
                    if method == self.fail:
                        raise RuntimeError('%s failed' % method)
                    return {}
                return call
        self.http.on('GET', '/images/nova-image:%s/json' % IMAGE_ID,
                     json={'Id': 'sha256:abc'})
        self.http.on('GET', '/info', json={'NCPU': 2})
        self.driver._files = Recorder('files')
        self.driver._network = Recorder('network', fail='wire')
        self.driver._containers = Recorder('containers')
        vif = {'id': 'p1', 'active': True}
        self.assertRaises(RuntimeError, self.driver.spawn, self.ctx,
                          self.instance, _image(), [], None, {},
                          network_info=[vif])
        self.assertEqual(['files.create', 'network.prepare',
                          'containers.create', 'containers.start',
                          'network.wire', 'containers.remove',
                          'network.teardown', 'files.remove'], calls)

    def test_destroy_missing_container_is_success(self):
        self.http.on('GET', self.name + '/json', status_code=404,
                     json={'message': 'No such container'})
        self.driver.destroy(self.ctx, self.instance, [])
        self.assertEqual([], self.http.calls('DELETE'))

    def test_destroy_is_cleanup_and_honours_destroy_disks(self):
        self.http.on('GET', self.name + '/json', status_code=404,
                     json={'message': 'No such container'})
        files = self.useFixture(fixtures.MockPatchObject(
            self.driver, '_files')).mock
        self.driver.destroy(self.ctx, self.instance, [],
                            destroy_disks=False)
        files.remove.assert_not_called()
        self.driver.destroy(self.ctx, self.instance, [])
        files.remove.assert_called_once_with(self.instance)

    def test_destroy_never_touches_foreign_container(self):
        self.http.on('GET', self.name + '/json', json=docker_http.container(
            self.instance.uuid, labels={'owner': 'someone-else'}))
        self.driver.destroy(self.ctx, self.instance, [])
        self.assertEqual([], self.http.calls('DELETE'))

    def test_get_info(self):
        self._inspect(status='paused', paused=True)
        self.assertEqual(power_state.PAUSED,
                         self.driver.get_info(self.instance,
                                              use_cache=False).state)

    def test_get_info_suspended(self):
        self._inspect(status='paused', paused=True)
        self.instance.vm_state = 'suspended'
        self.assertEqual(power_state.SUSPENDED,
                         self.driver.get_info(self.instance,
                                              use_cache=False).state)

    def test_unpause_and_resume_of_a_running_instance_do_nothing(self):
        # Nova's generic driver suite: both succeed and change nothing.
        self._inspect()
        self.driver.unpause(self.instance)
        self.driver.resume(self.ctx, self.instance, [])
        self.assertEqual([], self.http.calls('POST'))

    def test_unpause_of_a_paused_instance(self):
        self._inspect(status='paused', paused=True)
        cid = docker_http.container(self.instance.uuid)['Id']
        self.http.on('POST', '/containers/%s/unpause' % cid,
                     status_code=204)
        self.driver.unpause(self.instance)
        self.assertEqual(1, len(self.http.calls('POST')))

    def test_get_info_missing(self):
        self.http.on('GET', self.name + '/json', status_code=404,
                     json={'message': 'No such container'})
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info,
                          self.instance, use_cache=False)

    def test_list_instances_uses_one_filtered_call(self):
        self.http.on('GET', '/containers/json', json=[
            {'Labels': docker_http.container(self.instance.uuid)['Config']
             ['Labels']}])
        self.assertEqual([self.instance.uuid],
                         self.driver.list_instance_uuids())
        self.assertEqual(['instance-00000001'],
                         self.driver.list_instances())
        calls = self.http.calls('GET', '/containers/json')
        self.assertEqual(2, len(calls))
        self.assertIn('org.openstack.nova.host=cmp1',
                      calls[0].qs['filters'][0])

    def test_power_off_graceful_and_hard(self):
        self._inspect()
        cid = docker_http.container(self.instance.uuid)['Id']
        self.http.on('POST', '/containers/%s/stop' % cid, status_code=204)
        self.http.on('POST', '/containers/%s/kill' % cid, status_code=204)
        self.http.on('POST', '/containers/%s/wait' % cid,
                     json={'StatusCode': 137})
        self.driver.power_off(self.instance, timeout=7)
        self.assertEqual(['7'], self.http.calls(
            'POST', '/containers/%s/stop' % cid)[0].qs['t'])
        self.driver.power_off(self.instance)
        self.assertEqual(1, len(self.http.calls(
            'POST', '/containers/%s/kill' % cid)))

    def test_power_off_when_already_stopped_does_nothing(self):
        self._inspect(status='exited', running=False)
        self.driver.power_off(self.instance, timeout=7)
        self.assertEqual([], self.http.calls('POST'))

    def test_reboot_hard_kills_then_starts(self):
        # Running until the kill, exited after it.
        self.http.on('GET', self.name + '/json', response_list=[
            {'json': docker_http.container(self.instance.uuid)},
            {'json': docker_http.container(
                self.instance.uuid, status='exited', running=False,
                exit_code=137)}])
        cid = docker_http.container(self.instance.uuid)['Id']
        self.http.on('POST', '/containers/%s/kill' % cid, status_code=204)
        self.http.on('POST', '/containers/%s/wait' % cid,
                     json={'StatusCode': 137})
        self.http.on('POST', '/containers/%s/start' % cid, status_code=204)
        self.driver.reboot(self.ctx, self.instance, [], 'HARD')
        posted = [r.path.rsplit('/', 1)[1] for r in self.http.calls('POST')]
        self.assertEqual(['kill', 'wait', 'start'], posted)

    def test_reboot_stops_the_container_when_its_wiring_fails(self):
        # Stopped (for the reboot's stop and its start), then running
        # (held) after the start, then killed.
        stopped = {'json': docker_http.container(
            self.instance.uuid, status='exited', running=False)}
        self.http.on('GET', self.name + '/json', response_list=[
            stopped, stopped,
            {'json': docker_http.container(self.instance.uuid)},
            {'json': docker_http.container(
                self.instance.uuid, status='exited', running=False,
                exit_code=137)}])
        cid = docker_http.container(self.instance.uuid)['Id']
        self.http.on('POST', '/containers/%s/start' % cid, status_code=204)
        self.http.on('POST', '/containers/%s/kill' % cid, status_code=204)
        self.http.on('POST', '/containers/%s/wait' % cid,
                     json={'StatusCode': 137})
        with mock.patch.object(self.driver._network, 'wire', autospec=True,
                               side_effect=OSError('wiring')):
            self.assertRaises(OSError, self.driver.reboot, self.ctx,
                              self.instance, [], 'HARD')
        posted = [r.path.rsplit('/', 1)[1] for r in self.http.calls('POST')]
        # Unwired, its entrypoint would never run: it does not stay up.
        self.assertEqual(['start', 'kill', 'wait'], posted)

    def test_reboot_after_a_failed_finish_builds_the_server(self):
        self.http.on('GET', self.name + '/json', status_code=404,
                     json={'message': 'No such container'})
        info = '{"novadocker_stream": {"host": "192.0.2.1"}}'
        self.driver._migrations.remember(self.instance, info)
        with mock.patch.object(self.driver, '_migrate_in',
                               autospec=True) as build, \
                mock.patch.object(self.driver._migrations, 'release',
                                  autospec=True) as told:
            self.driver.reboot(self.ctx, self.instance, [], 'HARD', None)
        build.assert_called_once_with(self.ctx, self.instance, info,
                                      mock.ANY, [], None, True, loaded=True)
        told.assert_called_once_with(self.instance, info)
        self.assertEqual([], self.http.calls('POST'))

    def test_own_power_operations_refresh_the_state_cache(self):
        labels = docker_http.container(self.instance.uuid)['Config']['Labels']
        cid = docker_http.container(self.instance.uuid)['Id']
        self.http.on('GET', '/containers/json', response_list=[
            {'json': [{'Id': cid, 'State': 'running', 'Labels': labels}]},
            {'json': [{'Id': cid, 'State': 'paused', 'Labels': labels}]}])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.instance).state)
        self._inspect()
        self.http.on('POST', '/containers/%s/pause' % cid, status_code=204)
        self.driver.pause(self.instance)
        # Within the cache's lifetime, yet asked again after the pause:
        # by inspect at first (the engine's list can lag a change).
        self._inspect(status='paused', paused=True)
        self.assertEqual(power_state.PAUSED,
                         self.driver.get_info(self.instance).state)
        self.assertEqual(1, len(self.http.calls('GET', '/containers/json')))

    def test_snapshot_of_missing_container(self):
        self.http.on('GET', self.name + '/json', status_code=404,
                     json={'message': 'No such container'})
        self.assertRaises(exception.InstanceNotRunning, self.driver.snapshot,
                          self.ctx, self.instance, IMAGE_ID, lambda **k: None)

    def test_init_host_daemon_down(self):
        self.http.mock.get('http://docker.test:2375/version',
                           exc=requests.exceptions.ConnectionError('refused'))
        e = self.assertRaises(exception.HypervisorUnavailable,
                              self.driver.init_host, 'cmp1')
        self.assertIn(docker_http.URL, str(e))

    def test_periodic_daemon_down_is_not_ready(self):
        self.http.mock.get('http://docker.test:2375/version',
                           exc=requests.exceptions.ConnectionError('refused'))
        self.assertRaises(exception.VirtDriverNotReady,
                          self.driver.get_available_resource, 'cmp1')
        self.assertRaises(exception.VirtDriverNotReady,
                          self.driver.list_instance_uuids)

    def test_crash_dump_signals_the_running_container(self):
        self.flags(crash_dump_signal='SIGUSR2', group='docker')
        self._inspect()
        cid = docker_http.container(self.instance.uuid)['Id']
        self.http.on('POST', '/containers/%s/kill' % cid, status_code=204)
        self.driver.trigger_crash_dump(self.instance)
        self.assertEqual(['signal=sigusr2'], [  # requests-mock lowers it
            r.query for r in self.http.calls('POST')])

    def test_crash_dump_of_a_stopped_container(self):
        self._inspect(status='exited', running=False)
        self.assertRaises(exception.InstanceNotRunning,
                          self.driver.trigger_crash_dump, self.instance)
        self.assertEqual([], self.http.calls('POST'))

    def test_graphical_consoles_are_unavailable(self):
        for method in (self.driver.get_vnc_console,
                       self.driver.get_spice_console,
                       self.driver.get_mks_console):
            e = self.assertRaises(exception.ConsoleTypeUnavailable, method,
                                  self.ctx, self.instance)
            self.assertIn('not available for containers', str(e))

    def test_network_binding_host(self):
        self.instance.host = 'cmp1'
        self.assertEqual('cmp1', self.driver.network_binding_host_id(
            self.ctx, self.instance))
        self.flags(network_binding_host='kvm1', group='docker')
        self.assertEqual('kvm1', self.driver.network_binding_host_id(
            self.ctx, self.instance))

    def test_cache_image_refuses_other_formats(self):
        self.stub_out('nova.image.glance.API.get',
                      lambda *a: {'id': IMAGE_ID, 'name': 'x',
                                  'container_format': 'bare',
                                  'disk_format': 'raw', 'properties': {}})
        self.assertRaises(exception.ImageUnacceptable,
                          self.driver.cache_image, self.ctx, IMAGE_ID)
        self.assertEqual([], self.http.calls())

    def test_cache_image_already_here(self):
        self.stub_out('nova.image.glance.API.get',
                      lambda *a: {'id': IMAGE_ID, 'name': 'busybox',
                                  'container_format': 'docker',
                                  'disk_format': 'raw', 'properties': {}})
        self.http.on('GET', '/images/nova-image:%s/json' % IMAGE_ID,
                     json={'Id': 'sha256:1'})
        self.assertFalse(self.driver.cache_image(self.ctx, IMAGE_ID))
