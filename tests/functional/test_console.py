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

"""The serial console through nova's real serial proxy, on a real engine.

``openstack console url show --serial`` is ``POST /servers/{id}/
remote-consoles``; the URL it returns is opened with a websocket client.
The proxy is nova's own (``NovaWebSocketProxy`` with
``NovaProxyRequestHandler``, what ``nova-serialproxy`` runs), served from
a thread of the test process so that it shares the test's database and
message bus: it checks the token, asks the compute service to validate
the port and relays bytes to the driver's endpoint.
"""

import re
import socket
import threading
import time
from unittest import mock
import urllib.parse

import fixtures
from nova.console import serial as serial_ports
from nova.console import websocketproxy
from nova.tests.functional.api import client as api_client
from websockify import websocket

from novadocker.extra_specs import names
from tests.functional import base

PROXY_HOST = '127.0.0.1'
HI = re.compile(rb'(^|\n)hi\r?\n')


class SerialProxy(fixtures.Fixture):
    """nova-serialproxy's server, each connection handled in a thread."""

    def _setUp(self):
        self.server = websocketproxy.NovaWebSocketProxy(
            listen_host=PROXY_HOST, listen_port=0, file_only=True, web='',
            RequestHandlerClass=websocketproxy.NovaProxyRequestHandler)
        self.listener = socket.create_server((PROXY_HOST, 0))
        self.listener.settimeout(0.5)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.listener.close)
        self.addCleanup(self._stop.set)

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, addr = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn, addr),
                             daemon=True).start()

    def _handle(self, conn, addr):
        try:
            self.server.top_new_client(conn, addr)
        finally:
            conn.close()


def free_port_range(size):
    """``start:stop`` of ``size`` ports that are free now."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind((PROXY_HOST, 0))
            start = probe.getsockname()[1]
        if start + size > 65535:
            continue
        try:
            for port in range(start, start + size):
                with socket.socket() as s:
                    s.bind((PROXY_HOST, port))
        except OSError:
            continue
        return start, start + size
    raise AssertionError('no free port range')


class _WebSocket(websocket.WebSocket):
    """websockify's client, which sends only the URL's path: this one
    keeps the query (``?token=...``) that nova's proxy reads.
    """

    def __init__(self, query):
        super().__init__()
        self._query = query

    def send_request(self, method, path):
        super().send_request(method, '%s?%s' % (path, self._query))


class Terminal(object):
    """A websocket client on a console URL."""

    def __init__(self, url, timeout=10):
        self.ws = _WebSocket(urllib.parse.urlsplit(url).query)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ws.connect(url)
                break
            except websocket.WebSocketWantReadError:
                if time.monotonic() > deadline:
                    raise
        self.ws.settimeout(timeout)

    def send(self, data):
        self.ws.sendmsg(data)

    def read_until(self, pattern, timeout=15):
        """Everything read until ``pattern`` matches it."""
        data = b''
        deadline = time.monotonic() + timeout
        while not pattern.search(data):
            if time.monotonic() > deadline:
                raise AssertionError('%r never matched; read %r'
                                     % (pattern.pattern, data))
            try:
                chunk = self.ws.recv()
            except websocket.WebSocketWantReadError:
                continue
            if chunk is None:
                raise AssertionError('console closed; read %r' % data)
            data += chunk
        return data

    def close(self):
        try:
            self.ws.close()
        except Exception:   # best effort: the socket is closed below
            pass
        if self.ws.socket is not None:
            self.ws.socket.close()


class SerialConsoleTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(SerialProxy())
        self.range = free_port_range(8)
        self.flags(enabled=True, proxyclient_address=PROXY_HOST,
                   port_range='%d:%d' % self.range,
                   base_url='ws://%s:%d/' % (PROXY_HOST, self.proxy.port),
                   group='serial_console')
        self.flavor = self.create_flavor()

    def _shell_server(self, tty):
        props = {'docker_tty': 'true'} if tty else {}
        image = self.create_docker_image(command='sh', **props)
        return self.boot(image['id'], self.flavor)

    def _console_url(self, server):
        body = self.api.api_post(
            '/servers/%s/remote-consoles' % server['id'],
            {'remote_console': {'protocol': 'serial',
                                'type': 'serial'}}).body
        console = body['remote_console']
        self.assertEqual('serial', console['type'])
        return console['url']

    def _terminal(self, server):
        url = self._console_url(server)
        self.assertTrue(url.startswith('ws://%s:%d/?token='
                                       % (PROXY_HOST, self.proxy.port)))
        term = Terminal(url)
        self.addCleanup(term.close)
        return term

    def _allocated(self):
        return {port for host, port in serial_ports.ALLOCATED_PORTS
                if host == PROXY_HOST and
                self.range[0] <= port < self.range[1]}

    def test_echo_hi_in_a_tty_shell(self):
        server = self._shell_server(tty=True)
        self.assertTrue(self.container(server)['Config']['Tty'])
        term = self._terminal(server)
        term.send(b'echo hi\n')
        # The terminal echoes the command line, then the shell prints hi.
        out = term.read_until(HI)
        self.assertIn(b'echo hi', out)

    def test_echo_hi_without_a_tty(self):
        # Without a TTY Docker multiplexes stdout and stderr; the driver
        # decodes the frames, so only the shell's output arrives.
        server = self._shell_server(tty=False)
        self.assertFalse(self.container(server)['Config']['Tty'])
        term = self._terminal(server)
        term.send(b'echo hi\n')
        term.send(b'echo oops >&2\n')
        out = term.read_until(re.compile(rb'(?s)(?=.*hi\n)(?=.*oops\n)'))
        # Docker copies stdout and stderr separately: either order.
        self.assertEqual([b'hi', b'oops'], sorted(out.splitlines()))

    def test_console_survives_reboot_and_port_is_released_on_delete(self):
        server = self._shell_server(tty=False)
        term = self._terminal(server)
        port, = self._allocated()
        term.send(b'echo hi\n')
        term.read_until(HI)

        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'HARD'}})
        self.wait_for_status(server, 'ACTIVE')
        term = self._terminal(server)
        self.assertEqual({port}, self._allocated())
        term.send(b'echo hi\n')
        term.read_until(HI)

        self._delete_and_check_allocations(server)
        self.assertEqual(set(), self._allocated())
        # Nobody listens there any more: the port can be listened on again.
        self.assertRaises(OSError, socket.create_connection,
                          (PROXY_HOST, port), 2)
        socket.create_server((PROXY_HOST, port)).close()

    def test_ports_released_when_compute_restarts(self):
        server = self._shell_server(tty=True)
        # Talk through the terminal first: then the console proxy is done
        # validating the port with nova-compute.
        term = self._terminal(server)
        term.send(b'echo hi\n')
        term.read_until(HI)
        self.assertEqual(1, len(self._allocated()))
        # A real nova-compute stopping also shuts its thread pools down for
        # good; this process goes on, so keep them (as nova's own graceful
        # shutdown tests do).
        with mock.patch('nova.thread_pool_factory.shutdown_all_executors',
                        autospec=True):
            self.compute = self.restart_compute_service(
                self.compute, keep_hypervisor_state=False)
        self.assertEqual(set(), self._allocated())
        # The new service opens a new endpoint on demand.
        term = self._terminal(server)
        term.send(b'echo hi\n')
        term.read_until(HI)

    def test_tty_from_the_flavor_and_console_disabled(self):
        self.api.post_extra_spec(self.flavor, {'extra_specs': {
            names.TTY: 'true'}})
        server = self._shell_server(tty=False)
        self.assertTrue(self.container(server)['Config']['Tty'])

        self.flags(enabled=False, group='serial_console')
        ex = self.assertRaises(
            api_client.OpenStackApiException, self._console_url, server)
        self.assertEqual(400, ex.response.status_code)
        self.assertEqual(set(), self._allocated())
