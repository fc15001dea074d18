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

"""A Docker engine faked at the HTTP layer with requests-mock."""

import json

import fixtures
import requests_mock

URL = 'http://docker.test:2375'
API = '1.41'
BASE = 'http://docker.test:2375/v%s' % API


class DockerHTTP(fixtures.Fixture):
    """Answers ``GET /version`` (for API negotiation); tests add the rest."""

    def _setUp(self):
        self.mock = self.useFixture(_RequestsMock()).mock
        self.mock.get('http://docker.test:2375/version',
                      json={'ApiVersion': API, 'Version': '28.2.2'})
        self.mock.get(BASE + '/version',
                      json={'ApiVersion': API, 'Version': '28.2.2'})

    def on(self, method, path, **kwargs):
        return self.mock.register_uri(method, BASE + path, **kwargs)

    def calls(self, method=None, path=None):
        return [r for r in self.mock.request_history
                if (method is None or r.method == method) and
                (path is None or r.path == '/v%s%s' % (API, path))]


class _RequestsMock(fixtures.Fixture):
    def _setUp(self):
        self.mock = requests_mock.Mocker()
        self.mock.start()
        self.addCleanup(self.mock.stop)


def container(uuid, host='cmp1', status='running', running=True,
              paused=False, exit_code=0, labels=None):
    """A ``docker inspect`` answer for an instance's container."""
    if labels is None:
        labels = {'org.openstack.nova.managed-by': 'novadocker',
                  'org.openstack.nova.host': host,
                  'org.openstack.nova.instance-uuid': uuid,
                  'org.openstack.nova.instance-name': 'instance-00000001'}
    return {
        'Id': 'c0ffee' + uuid.replace('-', '')[:10],
        'Name': '/nova-%s' % uuid,
        'Config': {'Labels': labels},
        'State': {'Status': status, 'Running': running, 'Paused': paused,
                  'ExitCode': exit_code, 'OOMKilled': False},
    }


def json_lines(*items):
    return ''.join(json.dumps(i) + '\n' for i in items).encode()
