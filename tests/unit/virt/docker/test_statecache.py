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

"""statecache.py: a whole power sync pass costs a few list calls."""

import json
import re
import time
from unittest import mock
from urllib import parse

from nova.compute import power_state
from nova import context
from nova import exception
from nova import test
from nova.tests.unit import fake_instance
from nova.virt import fake

from novadocker.virt.docker import driver
from novadocker.virt.docker import statecache
from tests.unit.virt.docker import docker_http

N = 300
# Exit codes: stopped (0, SIGTERM), killed (SIGKILL), crashed (1).
EXITS = {0: '0', 1: '143', 2: '137', 3: '1'}


def _labels(uuid):
    return docker_http.container(uuid)['Config']['Labels']


class StateCacheTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.flags(host='cmp1')
        self.flags(host_url=docker_http.URL, watch_events=False,
                   group='docker')
        self.http = self.useFixture(docker_http.DockerHTTP())
        ctx = context.get_admin_context()
        self.instances = [fake_instance.fake_instance_obj(ctx)
                          for _ in range(N)]
        self.summaries = []
        for i, inst in enumerate(self.instances):
            state = 'exited' if i % 3 == 0 else ('paused' if i % 3 == 1
                                                 else 'running')
            self.summaries.append({'Id': 'c%d' % i, 'State': state,
                                   'Labels': _labels(inst.uuid),
                                   'exit': EXITS[(i // 3) % 4]})
        self.http.on('GET', '/containers/json', json=self._list)
        self.mock_inspect = self.http.mock.register_uri(
            'GET', re.compile(r'.*/containers/c\d+/json$'),
            json=self._inspect)
        self.driver = driver.DockerDriver(fake.FakeVirtAPI())

    def _inspect(self, request, context):
        cid = request.path.split('/')[-2]
        return {'Id': cid, 'State': {'Status': 'exited', 'ExitCode': 137,
                                     'OOMKilled': cid == 'c6'}}

    def _list(self, request, context):
        filters = parse.parse_qs(request.query).get('filters')
        filters = json.loads(filters[0]) if filters else {}
        out = []
        for c in self.summaries:
            if 'status' in filters and c['State'] not in filters['status']:
                continue
            if 'exited' in filters and (c['State'] != 'exited' or
                                        c['exit'] not in filters['exited']):
                continue
            out.append({k: v for k, v in c.items() if k != 'exit'})
        return out

    def _pass(self):
        return [self.driver.get_info(i).state for i in self.instances]

    def test_one_pass_costs_three_list_calls(self):
        got = self._pass()
        lists = self.http.calls('GET', '/containers/json')
        self.assertEqual(3, len(lists))
        # Docker's list does not tell an OOM kill from docker kill: each
        # SIGKILLed container is inspected once, and only once.
        killed = [c['Id'] for c in self.summaries
                  if c['State'] == 'exited' and c['exit'] == '137']
        self.assertEqual(len(killed), self.mock_inspect.call_count)
        expected = []
        for i in range(N):
            if i % 3 == 1:
                expected.append(power_state.PAUSED)
            elif i % 3 == 2:
                expected.append(power_state.RUNNING)
            else:
                code = EXITS[(i // 3) % 4]
                expected.append(power_state.CRASHED if code == '1' or
                                (code == '137' and i == 6)
                                else power_state.SHUTDOWN)
        self.assertEqual(expected, got)

        # Within the TTL a second pass costs nothing.
        self._pass()
        self.assertEqual(3, len(self.http.calls('GET', '/containers/json')))
        # After it, three list calls again and no inspect.
        self.driver._states.invalidate()
        self.assertEqual(got, self._pass())
        self.assertEqual(6, len(self.http.calls('GET', '/containers/json')))
        self.assertEqual(len(killed), self.mock_inspect.call_count)

    def test_no_exited_containers_one_call(self):
        for c in self.summaries:
            c['State'] = 'running'
        self._pass()
        self.assertEqual(1, len(self.http.calls('GET', '/containers/json')))

    def test_unknown_instance_is_inspected(self):
        self._pass()
        other = fake_instance.fake_instance_obj(context.get_admin_context())
        missing = self.http.on('GET', '/containers/nova-%s/json' % other.uuid,
                               status_code=404,
                               json={'message': 'No such container'})
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info,
                          other)
        self.assertEqual(1, missing.call_count)

    def test_lifecycle_checks_bypass_the_cache(self):
        inst = self.instances[1]
        self.http.on('GET', '/containers/nova-%s/json' % inst.uuid,
                     json=docker_http.container(inst.uuid))
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst, use_cache=False).state)
        self.assertEqual([], self.http.calls('GET', '/containers/json'))

    def test_ttl_zero_inspects(self):
        self.flags(state_cache_seconds=0, group='docker')
        inst = self.instances[1]
        self.http.on('GET', '/containers/nova-%s/json' % inst.uuid,
                     json=docker_http.container(inst.uuid))
        self.driver.get_info(inst)
        self.assertEqual([], self.http.calls('GET', '/containers/json'))

    def test_after_a_change_answers_come_from_inspect(self):
        # The engine's list can lag a stop for a moment: right after this
        # host changed a container's state, get_info inspects that one.
        self._pass()
        inst = self.instances[2]
        inspect = self.http.on(
            'GET', '/containers/nova-%s/json' % inst.uuid,
            json=docker_http.container(inst.uuid, status='paused',
                                       paused=True))
        self.driver._states.changed(inst.uuid)
        self.assertEqual(power_state.PAUSED,
                         self.driver.get_info(inst).state)
        self.assertEqual(1, inspect.call_count)
        self.assertEqual(3, len(self.http.calls('GET', '/containers/json')))

    def test_a_change_costs_one_inspect_not_one_per_instance(self):
        got = self._pass()
        inst = self.instances[2]
        inspect = self.http.on(
            'GET', '/containers/nova-%s/json' % inst.uuid,
            json=docker_http.container(inst.uuid, status='paused',
                                       paused=True))
        self.driver._states.changed(inst.uuid)
        inspected = self.mock_inspect.call_count
        got[2] = power_state.PAUSED
        self.assertEqual(got, self._pass())
        self.assertEqual(1, inspect.call_count)
        self.assertEqual(inspected, self.mock_inspect.call_count)
        # The others keep the refresh they had.
        self.assertEqual(3, len(self.http.calls('GET', '/containers/json')))

        # Once the list shows the change, one refresh taken after it
        # answers for that container too.
        self.summaries[2]['State'] = 'paused'
        later = time.monotonic() + 5
        with mock.patch.object(statecache.time, 'monotonic', autospec=True,
                               return_value=later):
            self.assertEqual(got, self._pass())
        self.assertEqual(1, inspect.call_count)
        self.assertEqual(6, len(self.http.calls('GET', '/containers/json')))
