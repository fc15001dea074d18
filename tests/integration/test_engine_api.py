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

"""The driver's Engine API floor: an old engine is refused at init_host.

The old engine is a tiny HTTP server on a unix socket that answers like
dockerd does (``GET /version``, ``GET /_ping``) with an API version below
the floor; the real engine at ``$DOCKER_HOST`` is accepted.
"""

import http.server
import json
import socketserver
import threading
import uuid

import nova.conf
from nova.virt import virtapi
from oslo_config import fixture as cfg_fixture
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import driver as docker_driver
from novadocker.virt.docker import exception

CONF = nova.conf.CONF


class _OldEngine(http.server.BaseHTTPRequestHandler):
    api_version = '1.40'
    seen = []

    def do_GET(self):
        self.seen.append(self.path)
        if self.path.rstrip('/').endswith('/version'):
            body = json.dumps({'Version': '19.03.15',
                               'ApiVersion': self.api_version,
                               'MinAPIVersion': '1.12'}).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
        else:
            body = b'{"message": "page not found"}'
            self.send_response(404)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return 'unix'

    def log_message(self, *args):
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn,
                      socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def old_engine(tmp_path):
    path = str(tmp_path / 'old-docker.sock')
    _OldEngine.seen = []
    server = _UnixHTTPServer(path, _OldEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'unix://' + path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def make_driver(tmp_path):
    fixture = cfg_fixture.Config(CONF)
    fixture.setUp()

    def make(url):
        fixture.config(host='nd-api-%s' % uuid.uuid4().hex[:8],
                       instances_path=str(tmp_path / 'instances'))
        fixture.config(group='docker', host_url=url, api_timeout=5,
                       watch_events=False)
        return docker_driver.DockerDriver(virtapi.VirtAPI())
    try:
        yield make
    finally:
        fixture.cleanUp()


def test_init_host_refuses_an_engine_below_the_floor(old_engine,
                                                     make_driver):
    driver = make_driver(old_engine)
    with pytest.raises(exception.DockerEngineTooOld) as e:
        driver.init_host(CONF.host)
    message = str(e.value)
    assert 'speaks Engine API 1.40' in message
    assert 'needs API %s or later' % docker_client.MIN_API_VERSION in message
    assert old_engine in message
    # Nothing but the version was asked.
    assert _OldEngine.seen == ['/version']


def test_init_host_accepts_the_real_engine(docker_url, docker_api,
                                           make_driver):
    driver = make_driver(docker_url)
    try:
        driver.init_host(CONF.host)
    finally:
        driver.cleanup_host(CONF.host)
    engine_api = docker_api.version()['ApiVersion']
    assert docker_client.api_version(engine_api) >= (
        docker_client.api_version(docker_client.MIN_API_VERSION))
