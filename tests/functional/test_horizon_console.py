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

"""Horizon's console tab, through the API calls Horizon makes.

With ``CONSOLE_TYPE = "SERIAL"`` in Horizon's ``local_settings.py``,
Horizon asks novaclient for ``get_serial_console(server, 'serial')``:
``POST /servers/{id}/remote-consoles`` with protocol ``serial`` (API 2.6
and later; the ``os-getSerialConsole`` action before), and shows the URL
it gets in its terminal page. With ``"AUTO"`` it tries VNC, SPICE, RDP,
SERIAL and MKS in turn and keeps the first that answers: the graphical
ones must fail cleanly (400), not with a 500.
"""

import re

from nova.tests.functional.api import client

from tests.functional import base
from tests.functional import test_console

HI = re.compile(rb'(^|\n)hi\r?\n')


class HorizonConsoleTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        proxy = self.useFixture(test_console.SerialProxy())
        ports = test_console.free_port_range(4)
        self.flags(enabled=True, proxyclient_address=test_console.PROXY_HOST,
                   port_range='%d:%d' % ports,
                   base_url='ws://%s:%d/' % (test_console.PROXY_HOST,
                                             proxy.port),
                   group='serial_console')
        # Even with every graphical console switched on in nova.conf, a
        # container has none.
        self.flags(enabled=True, group='vnc')
        self.flags(enabled=True, group='spice')
        self.flags(enabled=True, group='mks')
        image = self.create_docker_image(command='sh',
                                         docker_tty='true')
        self.server = self.boot(image['id'], self.create_flavor())

    def _remote_console(self, protocol, kind):
        return self.api.api_post(
            '/servers/%s/remote-consoles' % self.server['id'],
            {'remote_console': {'protocol': protocol, 'type': kind}}
        ).body['remote_console']

    def _echo_hi(self, url):
        term = test_console.Terminal(url)
        self.addCleanup(term.close)
        term.send(b'echo hi\n')
        self.assertIn(b'echo hi', term.read_until(HI))

    def test_serial_console_as_horizon_asks(self):
        console = self._remote_console('serial', 'serial')
        self.assertEqual(('serial', 'serial'),
                         (console['protocol'], console['type']))
        self._echo_hi(console['url'])

        # Horizon with an older compute API: the legacy action.
        self.api.microversion = '2.1'
        legacy = self.api.api_post(
            '/servers/%s/action' % self.server['id'],
            {'os-getSerialConsole': {'type': 'serial'}}).body['console']
        self.assertEqual('serial', legacy['type'])
        self._echo_hi(legacy['url'])

    def test_graphical_consoles_are_a_clear_400(self):
        for protocol, kind in (('vnc', 'novnc'), ('spice', 'spice-html5'),
                               ('mks', 'webmks'), ('rdp', 'rdp-html5')):
            error = self.assertRaises(client.OpenStackApiException,
                                      self._remote_console, protocol, kind)
            self.assertEqual(400, error.response.status_code, protocol)
            if protocol != 'rdp':   # the API refuses RDP itself
                self.assertIn('not available for containers', str(error))
        self.api.microversion = '2.1'
        error = self.assertRaises(
            client.OpenStackApiException, self.api.api_post,
            '/servers/%s/action' % self.server['id'],
            {'os-getVNCConsole': {'type': 'novnc'}})
        self.assertEqual(400, error.response.status_code)
        self.assertIn('not available for containers', str(error))
