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

"""Server lifecycle through Nova's REST API, on a real Docker engine.

Each test checks both sides: what Nova's API shows and what Docker shows
for the server's container.
"""

from nova.compute import power_state
from nova import context as nova_context
from nova import exception
from nova import objects

from novadocker.virt.docker import labels
from tests.functional import base


class LifecycleTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.image = self.create_docker_image()
        self.flavor = self.create_flavor(memory_mb=192, vcpus=2)

    def _started_at(self, server):
        return self.container(server)['State']['StartedAt']

    def _assert_power(self, server, state):
        self.assertEqual(state, server['OS-EXT-STS:power_state'])

    def test_create_server(self):
        server = self.boot(self.image['id'], self.flavor, name='web-one',
                           metadata={'GREETING': 'hello', 'app.mode': 'demo',
                                     '1st': 'x'})
        self._assert_power(server, power_state.RUNNING)
        self.assertEqual(self.host, server['OS-EXT-SRV-ATTR:host'])

        info = self.container(server)
        self.assertEqual('/nova-%s' % server['id'], info['Name'])
        self.assertTrue(info['State']['Running'])
        host_config = info['HostConfig']
        mib = 1024 * 1024
        self.assertEqual(192 * mib, host_config['Memory'])
        self.assertEqual(192 * mib, host_config['MemorySwap'])
        self.assertEqual(2 * 10 ** 9, host_config['NanoCpus'])
        self.assertEqual(2 * 1024, host_config['CpuShares'])
        self.assertEqual(2048, host_config['PidsLimit'])
        self.assertEqual(['no-new-privileges:true'],
                         host_config['SecurityOpt'])
        self.assertFalse(host_config['Privileged'])
        self.assertFalse(host_config['CapAdd'])
        self.assertEqual('none', host_config['NetworkMode'])

        config = info['Config']
        instance = self.instance(server)
        self.assertEqual({
            labels.LABEL_MANAGED_BY: labels.MANAGED_BY,
            labels.LABEL_HOST: self.host,
            labels.LABEL_UUID: server['id'],
            labels.LABEL_NAME: instance.name,
        }, config['Labels'])
        self.assertEqual('web-one', config['Hostname'])
        self.assertEqual(self.busybox, config['Image'])
        for var in ('GREETING=hello', 'app_mode=demo', '_1st=x'):
            self.assertIn(var, config['Env'])
        self.assertEqual(['sh', '-c', 'trap "exit 0" TERM; echo '
                          'novadocker-console-ready; sleep 100000 & wait'],
                         config['Cmd'])

        # What the container printed is the server's console log.
        output = self.wait_for(
            lambda: self.api.post_server_action(
                server['id'], {'os-getConsoleOutput': {}})['output'],
            what='console output')
        self.assertIn('novadocker-console-ready', output)

        # Nova and the driver agree on what runs on this host.
        self.assertEqual([instance.name], self.driver.list_instances())
        self.assertEqual([server['id']], self.driver.list_instance_uuids())

    def test_stop_start_and_reboot(self):
        server = self.boot(self.image['id'], self.flavor)

        server = self._stop_server(server)
        self._assert_power(server, power_state.SHUTDOWN)
        state = self.container(server)['State']
        self.assertFalse(state['Running'])
        self.assertEqual(0, state['ExitCode'])  # it exited on SIGTERM

        started = self._started_at(server)
        server = self._start_server(server)
        self._assert_power(server, power_state.RUNNING)
        self.assertTrue(self.container(server)['State']['Running'])
        self.assertNotEqual(started, self._started_at(server))

        for hard in (False, True):
            started = self._started_at(server)
            server = self._reboot_server(server, hard=hard)
            self._assert_power(server, power_state.RUNNING)
            state = self.container(server)['State']
            self.assertTrue(state['Running'])
            self.assertNotEqual(started, state['StartedAt'],
                                'hard=%s did not restart' % hard)

    def test_pause_and_suspend(self):
        server = self.boot(self.image['id'], self.flavor)

        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        self._assert_power(server, power_state.PAUSED)
        self.assertTrue(self.container(server)['State']['Paused'])

        self.api.post_server_action(server['id'], {'unpause': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._assert_power(server, power_state.RUNNING)
        self.assertFalse(self.container(server)['State']['Paused'])

        # suspend freezes the container (docker pause); Nova shows
        # SUSPENDED with power state SUSPENDED.
        server = self._suspend_server(server)
        self._assert_power(server, power_state.SUSPENDED)
        state = self.container(server)['State']
        self.assertTrue(state['Running'] and state['Paused'])

        server = self._resume_server(server)
        self._assert_power(server, power_state.RUNNING)
        state = self.container(server)['State']
        self.assertTrue(state['Running'])
        self.assertFalse(state['Paused'])

    def test_delete(self):
        server = self.boot(self.image['id'], self.flavor)
        self.assertIsNotNone(self.container(server))

        self._delete_server(server)
        self.assertIsNone(self.container(server))
        self.assertEqual([], self.driver.list_instance_uuids())

        # The driver treats a container that is already gone as deleted.
        ctxt = nova_context.get_admin_context(read_deleted='yes')
        instance = objects.Instance.get_by_uuid(ctxt, server['id'])
        self.driver.destroy(ctxt, instance, [])
        self.driver.cleanup(ctxt, instance, [])
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.get_info, instance)

    def test_non_docker_image_fails_without_reschedule(self):
        image = self.create_docker_image(container_format='bare')

        server = self.boot(image['id'], self.flavor, expected='ERROR')

        self.assertIn('container_format is bare', server['fault']['message'])
        self.assertIsNone(self.container(server))
        # One build on the one compute host: a reschedule would have asked
        # the scheduler again and failed with NoValidHost instead.
        actions = self.api.get_instance_actions(server['id'])
        events = self.api.get_instance_action_details(
            server['id'], actions[0]['request_id'])['events']
        builds = [e for e in events
                  if e['event'] == 'compute__do_build_and_run_instance']
        self.assertEqual(1, len(builds), events)

    def test_rebuild_replaces_the_container(self):
        server = self.boot(self.image['id'], self.flavor)
        old = self.container(server)
        command = base.KEEP_RUNNING.replace('ready', 'rebuilt')
        image = self.create_docker_image(command=command)

        # Nova's default rebuild: power_off, destroy, spawn.
        self.api.post_server_action(server['id'],
                                    {'rebuild': {'imageRef': image['id']}})
        server = self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})

        new = self.container(server)
        self.assertNotEqual(old['Id'], new['Id'])
        self.assertTrue(new['State']['Running'])
        self.assertIn('novadocker-console-rebuilt', new['Config']['Cmd'][2])
        self.assertEqual(image['id'], server['image']['id'])

    def test_soft_delete_and_restore(self):
        self.flags(reclaim_instance_interval=3600)
        server = self.boot(self.image['id'], self.flavor)

        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        state = self.container(server)['State']
        self.assertFalse(state['Running'])

        self.api.post_server_action(server['id'], {'restore': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertTrue(self.container(server)['State']['Running'])

        self.api.post_server_action(server['id'], {'forceDelete': None})
        self._wait_until_deleted(server)
        self.assertIsNone(self.container(server))
