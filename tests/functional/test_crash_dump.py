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

"""``openstack server dump create`` (``trigger_crash_dump``, API 2.17) on
a real engine: the main process gets ``[docker] crash_dump_signal``."""

from tests.functional import base

# PID 1 traps the signal, says so on the console and keeps running.
TRAPS_USR1 = ('sh -c \'trap "echo got-crash-dump-signal" USR1; '
              'echo ready; while :; do sleep 100000 & wait; done\'')


class CrashDumpTest(base.DockerFunctionalTestCase):

    # The dump is a cast: the API answers 202 at once, and the outcome is
    # in the server's action events, as a user sees it.
    CAST_AS_CALL = False
    microversion = '2.74'

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(crash_dump_signal='SIGUSR1', group='docker')
        # A container stopped behind Nova's back stays ACTIVE in Nova.
        self.flags(watch_events=False, group='docker')

    def _dump(self, server):
        self.api.post_server_action(server['id'],
                                    {'trigger_crash_dump': None})

    def _event(self, server):
        def finished():
            for action in self.api.get_instance_actions(server['id']):
                if action['action'] != 'trigger_crash_dump':
                    continue
                details = self.api.get_instance_action_details(
                    server['id'], action['request_id'])
                for event in details.get('events', ()):
                    if event['result'] in ('Success', 'Error'):
                        return event
            return None
        return self.wait_for(finished, what='the crash dump event')

    def _console(self, server):
        return self.api.api_post(
            '/servers/%s/action' % server['id'],
            {'os-getConsoleOutput': {}}).body['output']

    def test_signal_reaches_the_main_process(self):
        image = self.create_docker_image(command=TRAPS_USR1)
        server = self.boot(image['id'], self.create_flavor())
        self._dump(server)
        self.assertEqual('Success', self._event(server)['result'])
        self.wait_for(lambda: 'got-crash-dump-signal' in self._console(
            server), what='the trap on the console')
        # Still running: the process decides what a dump means.
        self.assertTrue(self.container(server)['State']['Running'])

    def test_not_running_is_an_error(self):
        server = self.boot(self.create_docker_image()['id'],
                           self.create_flavor())
        self.docker.kill(self.container(server)['Id'])
        self._dump(server)
        event = self._event(server)
        self.assertEqual('Error', event['result'])
        self.assertIn('InstanceNotRunning', event['traceback'])
