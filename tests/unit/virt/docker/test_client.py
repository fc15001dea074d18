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

"""DockerClient against a Docker engine faked at the HTTP layer.

Every public method is called once against canned answers, and every kind
of failure (HTTP status, transport, version negotiation, stream) is checked
to come out as the exception of ``exception.py`` that its type calls for.
"""

import base64
import functools
import inspect
import io
import json
import re
import socket
import struct
import threading
import types
import urllib.parse

from oslo_config import cfg
from oslo_config import fixture as cfg_fixture
import pytest
import requests
import requests_mock
import urllib3

from novadocker import conf as docker_conf
from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import exception

URL = 'tcp://docker.test:2375'
ROOT = 'http://docker.test:2375'
API = ROOT + '/v1.41'
VERSION = {'ApiVersion': '1.41', 'Version': '20.10.24'}


class _Socket(object):
    """The socket under a streamed answer; shutting it down ends the
    stream, as it does for a real one.
    """

    def __init__(self):
        self.shut_down = False

    def shutdown(self, how):
        self.shut_down = True

    def close(self):
        pass


class _Body(io.BytesIO):
    """What urllib3 reads an answer from, as Docker's SDK expects it.

    The SDK looks below the HTTP layer of a streamed answer: at whether
    http.client saw chunked transfer encoding, and at the socket (to lift
    its timeout, or to shut it down when a stream is cancelled).
    ``fail_with`` is raised once the data is used up, the way a connection
    that breaks in the middle of a stream does.
    """

    def __init__(self, data, chunked=True, fail_with=None, raw=None):
        super().__init__(data)
        self.chunked = chunked
        self.sock = _Socket()
        self.fp = types.SimpleNamespace(raw=raw or types.SimpleNamespace(
            sock=self.sock))
        self._fail_with = fail_with

    @property
    def chunk_left(self):
        # Each line is one HTTP chunk, as the engine sends events.
        rest = bytes(self.getbuffer()[self.tell():])
        return rest.find(b'\n') + 1 or len(rest)

    def read(self, size=-1):
        if self.sock.shut_down:
            return b''
        data = super().read(size)
        if not data and self._fail_with is not None:
            raise self._fail_with
        return data


def streamed(data=b'', status=200, chunked=True, fail_with=None, raw=None,
             received=None):
    """A requests-mock ``raw`` answer, built anew for each request.

    ``received`` (a list) gets the request body, read from its iterator.
    """
    def make(request, context):
        if received is not None:
            received.append(b''.join(request.body))
        return urllib3.HTTPResponse(
            body=_Body(data, chunked, fail_with, raw), status=status,
            headers={'Content-Type': 'application/json'},
            preload_content=False)
    return make


def frames(*chunks):
    """Docker's multiplexed stdout/stderr stream of a non-TTY container."""
    return b''.join(struct.pack('>BxxxL', 1, len(c)) + c for c in chunks)


def json_lines(*items):
    return ''.join(json.dumps(i) + '\n' for i in items).encode()


def query(request):
    """The request's query string, case and all."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)


@pytest.fixture
def http():
    with requests_mock.Mocker() as mock:
        mock.get(ROOT + '/version', json=VERSION)
        yield mock


@pytest.fixture
def client(http):
    return docker_client.DockerClient(URL, timeout=7)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _public_methods():
    """DockerClient's public methods, read from the class itself."""
    found = set()
    for name in dir(docker_client.DockerClient):
        attr = inspect.getattr_static(docker_client.DockerClient, name)
        if not name.startswith('_') and isinstance(
                attr, (types.FunctionType, classmethod, staticmethod)):
            found.add(name)
    return found


PUBLIC = _public_methods()


def _named_methods(test_name):
    """The public methods a test is named after: the words right after
    ``test_`` (``test_logs_are_bounded``) or a parameter
    (``test_simple_container_verbs[start-start]``).
    """
    name, _, params = test_name.partition('[')
    ids = set(params.rstrip(']').split('-'))
    return {m for m in PUBLIC
            if re.match(r'test_%s(_|$)' % m, name) or m in ids}


def _recording(name, original, called):
    if isinstance(original, classmethod):
        function = original.__func__

        @functools.wraps(function)
        def wrapper(cls, *args, **kwargs):
            called.add(name)
            return function(cls, *args, **kwargs)
        return classmethod(wrapper)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        called.add(name)
        return original(*args, **kwargs)
    return wrapper


@pytest.fixture(autouse=True)
def calls_what_its_name_says(request, monkeypatch):
    """A test named after a public method must call it."""
    called = set()
    for name in PUBLIC:
        original = inspect.getattr_static(docker_client.DockerClient, name)
        monkeypatch.setattr(docker_client.DockerClient, name,
                            _recording(name, original, called))
    yield
    missing = _named_methods(request.node.name) - called
    assert not missing, '%s never calls %s' % (request.node.name,
                                               sorted(missing))


def test_every_public_method_has_a_test_named_after_it(request):
    # All of this module's tests, also when only some were selected; the
    # fixture above checks that each really calls what it is named after.
    module = request.node.getparent(pytest.Module)
    named = set()
    for item in module.collect():
        named |= _named_methods(item.name)
    assert sorted(PUBLIC - named) == []


def test_finds_the_public_methods_and_the_names():
    assert {'from_conf', 'start', 'get_image', 'exec_with_input'} <= PUBLIC
    assert not {'url', '_call'} & PUBLIC
    assert _named_methods('test_simple_container_verbs[start-start]') == {
        'start'}
    assert _named_methods('test_logs_returns_the_newest_output') == {'logs'}
    assert _named_methods('test_restart_later') == set()
    assert _named_methods('test_api_version_negotiation_failure') == set()


# Engine


def test_version_is_negotiated_not_pinned(http, client):
    http.get(API + '/version', json=VERSION)
    assert client.version() == VERSION
    paths = [r.path for r in http.request_history]
    assert paths == ['/version', '/v1.41/version']


def test_negotiated_version_is_used_for_every_call(http):
    http.get(ROOT + '/version', json=dict(VERSION, ApiVersion='1.43'))
    http.get(ROOT + '/v1.43/info', json={'ID': 'x'})
    c = docker_client.DockerClient(URL)
    assert c.info() == {'ID': 'x'}
    assert c.info() == {'ID': 'x'}
    assert [r.path for r in http.request_history].count('/version') == 1


@pytest.mark.parametrize('engine_api', ['1.40', '1.24', '0.9'])
def test_engine_below_the_api_floor_is_refused(http, engine_api):
    http.get(ROOT + '/version', json=dict(VERSION, ApiVersion=engine_api))
    c = docker_client.DockerClient(URL)
    with pytest.raises(exception.DockerEngineTooOld) as e:
        c.version()
    assert 'Engine API %s' % engine_api in str(e.value)
    assert 'needs API %s or later' % docker_client.MIN_API_VERSION in str(
        e.value)
    assert [r.path for r in http.request_history] == ['/version']


@pytest.mark.parametrize('engine_api', ['1.41', '1.44', '1.52', '1.100'])
def test_engines_at_or_above_the_floor_are_spoken_to_in_their_api(
        http, engine_api):
    http.get(ROOT + '/version', json=dict(VERSION, ApiVersion=engine_api,
                                          MinAPIVersion='1.44'))
    http.get(ROOT + '/v%s/info' % engine_api, json={'ID': 'x'})
    assert docker_client.DockerClient(URL).info() == {'ID': 'x'}


def test_api_versions_compare_as_numbers():
    assert docker_client.api_version('1.100') > docker_client.api_version(
        '1.52') > docker_client.api_version('1.9')


def test_info(http, client):
    http.get(API + '/info', json={'NCPU': 2, 'MemTotal': 1 << 30})
    assert client.info() == {'NCPU': 2, 'MemTotal': 1 << 30}


def test_api_timeout_is_used(http, client):
    http.get(API + '/info', json={})
    client.info()
    assert http.last_request.timeout == 7


# Containers


def test_containers_filters_by_every_label(http, client):
    http.get(API + '/containers/json', json=[{'Id': 'a'}])
    result = client.containers({'b.host': 'cmp1', 'a.owner': 'nova'})
    assert result == [{'Id': 'a'}]
    q = query(http.last_request)
    assert q['all'] == ['1']
    assert json.loads(q['filters'][0]) == {
        'label': ['a.owner=nova', 'b.host=cmp1']}


def test_containers_with_more_filters(http, client):
    http.get(API + '/containers/json', json=[])
    assert client.containers({'a.owner': 'nova'}, status=['exited']) == []
    assert json.loads(query(http.last_request)['filters'][0]) == {
        'label': ['a.owner=nova'], 'status': ['exited']}


def test_inspect_container(http, client):
    http.get(API + '/containers/nova-1/json', json={'Id': 'c1'})
    assert client.inspect_container('nova-1') == {'Id': 'c1'}


def test_create_container(http, client):
    http.post(API + '/containers/create', json={'Id': 'c1'}, status_code=201)
    result = client.create_container(
        'img:1', 'nova-1', {'pids_limit': 10, 'mem_limit': '64m'},
        labels={'k': 'v'}, command=['sleep', '1'])
    assert result == {'Id': 'c1'}
    assert query(http.last_request) == {'name': ['nova-1']}
    body = http.last_request.json()
    assert body['Image'] == 'img:1'
    assert body['Labels'] == {'k': 'v'}
    assert body['Cmd'] == ['sleep', '1']
    assert body['HostConfig']['PidsLimit'] == 10
    assert body['HostConfig']['Memory'] == 64 * 1024 * 1024


@pytest.mark.parametrize('method,verb', [('start', 'start'),
                                         ('pause', 'pause'),
                                         ('unpause', 'unpause')])
def test_simple_container_verbs(http, client, method, verb):
    http.post(API + '/containers/nova-1/' + verb, status_code=204)
    assert getattr(client, method)('nova-1') is None
    assert http.last_request.path == '/v1.41/containers/nova-1/' + verb


def test_stop_passes_grace_period(http, client):
    http.post(API + '/containers/nova-1/stop', status_code=204)
    client.stop('nova-1', timeout=5)
    assert query(http.last_request) == {'t': ['5']}
    # The HTTP call may last the grace period plus the API timeout.
    assert http.last_request.timeout == 12


def test_kill_with_signal(http, client):
    http.post(API + '/containers/nova-1/kill', status_code=204)
    client.kill('nova-1', signal='SIGKILL')
    assert query(http.last_request) == {'signal': ['SIGKILL']}


def test_kill_without_signal(http, client):
    http.post(API + '/containers/nova-1/kill', status_code=204)
    client.kill('nova-1')
    assert query(http.last_request) == {}


def test_remove_container_forces_and_removes_volumes(http, client):
    http.delete(API + '/containers/nova-1', status_code=204)
    client.remove_container('nova-1')
    q = query(http.last_request)
    assert q['force'] == ['True']
    assert q['v'] == ['True']


def test_wait(http, client):
    http.post(API + '/containers/nova-1/wait', json={'StatusCode': 3})
    assert client.wait('nova-1', timeout=9) == {'StatusCode': 3}
    assert http.last_request.timeout == 9


def test_answers_within_polls_until_the_engine_answers(http, client):
    http.get(API + '/_ping', [
        {'exc': requests.exceptions.ConnectionError},
        {'exc': requests.exceptions.ConnectionError},
        {'text': 'OK'}])
    assert client.answers_within(10, interval=0) is True
    assert len([r for r in http.request_history
                if r.path.endswith('/_ping')]) == 3


def test_answers_within_is_bounded(http, client):
    http.get(API + '/_ping', exc=requests.exceptions.ConnectionError)
    assert client.answers_within(0, interval=0) is False


def _logs(http, data):
    http.get(API + '/containers/nova-1/json', json={'Config': {'Tty': False}})
    http.get(API + '/containers/nova-1/logs', raw=streamed(data))


def test_logs_returns_the_newest_output(http, client):
    _logs(http, frames(b'one\n', b'two\n'))
    assert client.logs('nova-1', tail=100, max_bytes=1024) == b'one\ntwo\n'
    q = query([r for r in http.request_history
               if r.path.endswith('/logs')][0])
    assert q['tail'] == ['100']
    assert q['follow'] == ['0']
    assert q['stdout'] == q['stderr'] == ['1']


def test_logs_are_bounded_to_max_bytes(http, client):
    chunks = [b'%05d\n' % i for i in range(1000)]
    _logs(http, frames(*chunks))
    result = client.logs('nova-1', tail='all', max_bytes=100)
    assert result == b''.join(chunks)[-100:]


def test_logs_stream_broken_gives_what_arrived(http, client):
    # The SDK ends a broken log stream as if it was complete.
    http.get(API + '/containers/nova-1/json', json={'Config': {'Tty': False}})
    http.get(API + '/containers/nova-1/logs',
             raw=streamed(frames(b'x'), fail_with=ConnectionResetError()))
    assert client.logs('nova-1', tail=10, max_bytes=1024) == b'x'


def test_logs_of_a_missing_container(http, client):
    for path in ('/json', '/logs'):
        http.get(API + '/containers/nova-1' + path, status_code=404,
                 json={'message': 'No such container: nova-1'})
    with pytest.raises(exception.DockerNotFound):
        client.logs('nova-1', tail=10, max_bytes=1024)


def test_attach_socket_is_a_socket_of_the_caller(http, client):
    ours, engine = socket.socketpair()
    conn = types.SimpleNamespace(fileno=ours.fileno, close=ours.close)
    http.post(API + '/containers/nova-1/attach', raw=streamed(raw=conn))
    with engine:
        sock = client.attach_socket('nova-1')
        with sock:
            assert isinstance(sock, socket.socket)
            assert sock.gettimeout() is None
            sock.sendall(b'typed')
            assert engine.recv(5) == b'typed'
            engine.sendall(b'printed')
            assert sock.recv(7) == b'printed'
    q = query(http.last_request)
    assert {k: q[k] for k in ('stdin', 'stdout', 'stderr', 'stream')} == {
        'stdin': ['1'], 'stdout': ['1'], 'stderr': ['1'], 'stream': ['1']}


@pytest.mark.parametrize('status,error', [(404, exception.DockerNotFound),
                                          (409, exception.DockerConflict)])
def test_attach_socket_refused(http, client, status, error):
    http.post(API + '/containers/nova-1/attach', status_code=status,
              json={'message': 'container is not running'})
    with pytest.raises(error):
        client.attach_socket('nova-1')


def test_pull_by_digest_with_credentials(http, client):
    http.post(API + '/images/create', raw=streamed(json_lines(
        {'status': 'Pulling'}, {'status': 'Digest: sha256:1'})))
    messages = client.pull('reg.test:5000/team/app', 'sha256:1',
                           {'username': 'u', 'password': 'p',
                            'serveraddress': 'reg.test:5000'})
    assert messages[-1] == {'status': 'Digest: sha256:1'}
    q = query(http.last_request)
    assert q['fromImage'] == ['reg.test:5000/team/app']
    assert q['tag'] == ['sha256:1']
    auth = json.loads(base64.urlsafe_b64decode(
        http.last_request.headers['X-Registry-Auth']))
    assert (auth['username'], auth['password']) == ('u', 'p')


def test_pull_error_in_stream(http, client):
    http.post(API + '/images/create', raw=streamed(json_lines(
        {'error': 'manifest verification failed'})))
    with pytest.raises(exception.DockerServerError,
                       match='manifest verification failed'):
        client.pull('reg.test:5000/team/app', 'sha256:1')


def test_refusal_carries_the_engines_words(http, client):
    http.post(API + '/images/create', status_code=500,
              json={'message': 'unauthorized: authentication required'})
    with pytest.raises(exception.DockerServerError) as e:
        client.pull('reg.test:5000/team/app', 'sha256:1')
    assert e.value.kwargs['reason'] == 'unauthorized: authentication required'


def test_stats_is_one_sample(http, client):
    http.get(API + '/containers/nova-1/stats', json={'read': 'now'})
    assert client.stats('nova-1') == {'read': 'now'}
    q = query(http.last_request)
    assert q['stream'] == ['False']
    assert q['one-shot'] == ['True']


def _exec_engine(http, engine_answer):
    """An engine whose exec runs, reads stdin to EOF and answers."""
    ours, engine = socket.socketpair()
    conn = types.SimpleNamespace(fileno=ours.fileno, close=ours.close)
    received = []

    def run():
        with engine:
            data = b''
            while True:
                chunk = engine.recv(4096)
                if not chunk:
                    break
                data += chunk
            received.append(data)
            engine.sendall(frames(engine_answer))

    thread = threading.Thread(target=run)
    thread.start()
    http.post(API + '/containers/nova-1/exec', json={'Id': 'e1'},
              status_code=201)
    http.post(API + '/exec/e1/start', raw=streamed(raw=conn))
    return thread, received


def test_exec_with_input_feeds_stdin_and_closes_it(http, client):
    thread, received = _exec_engine(http, b'done\n')
    http.get(API + '/exec/e1/json', json={'Running': False, 'ExitCode': 3})
    assert client.exec_with_input('nova-1', ['chpasswd'], b'root:pw\n',
                                  5) == (3, b'done\n')
    thread.join(5)
    assert received == [b'root:pw\n']
    create = http.request_history[1].json()
    assert create['Cmd'] == ['chpasswd']
    assert create['User'] == 'root'
    assert create['AttachStdin'] is True


def test_exec_with_input_still_running_is_none(http, client):
    thread, _received = _exec_engine(http, b'')
    http.get(API + '/exec/e1/json', json={'Running': True})
    assert client.exec_with_input('nova-1', ['x'], b'', 0.2)[0] is None
    thread.join(5)


def test_commit(http, client):
    http.post(API + '/commit', json={'Id': 'sha256:1'}, status_code=201)
    assert client.commit('nova-1', 'snap', 'v1') == {'Id': 'sha256:1'}
    q = query(http.last_request)
    assert q['container'] == ['nova-1']
    assert q['repo'] == ['snap']
    assert q['tag'] == ['v1']


def test_update_resources_sends_engine_fields(http, client):
    http.post(API + '/containers/nova-1/update', json={'Warnings': []})
    resources = {'Memory': 1 << 28, 'NanoCpus': 1500000000,
                 'PidsLimit': 100}
    assert client.update_resources('nova-1', resources) == {'Warnings': []}
    assert http.last_request.json() == resources
    assert http.last_request.timeout == 7


@pytest.mark.parametrize('status,error', [
    (404, exception.DockerNotFound),
    (409, exception.DockerConflict),
    (500, exception.DockerServerError),
    (400, exception.DockerDriverException),
])
def test_update_resources_refused(http, client, status, error):
    http.post(API + '/containers/nova-1/update', status_code=status,
              json={'message': 'engine says no'})
    with pytest.raises(exception.DockerDriverException) as e:
        client.update_resources('nova-1', {'Memory': 1})
    assert type(e.value) is error
    assert 'engine says no' in str(e.value)


def test_update_resources_unreachable(http, client):
    http.post(API + '/containers/nova-1/update',
              exc=requests.exceptions.ConnectionError)
    with pytest.raises(exception.DockerUnreachable):
        client.update_resources('nova-1', {'Memory': 1})


# Images


def test_inspect_image(http, client):
    http.get(API + '/images/nova-image:abc/json', json={'Id': 'sha256:2'})
    assert client.inspect_image('nova-image:abc') == {'Id': 'sha256:2'}


def test_images_by_name(http, client):
    http.get(API + '/images/json', json=[{'Id': 'sha256:2'}])
    assert client.images(name='busybox') == [{'Id': 'sha256:2'}]
    q = query(http.last_request)
    assert json.loads(q['filters'][0]) == {'reference': ['busybox']}


def test_images_all(http, client):
    http.get(API + '/images/json', json=[])
    assert client.images() == []
    assert 'filters' not in query(http.last_request)


def test_tag_forces(http, client):
    http.post(API + '/images/sha256:2/tag', status_code=201)
    client.tag('sha256:2', 'nova-image', 'abc')
    q = query(http.last_request)
    assert q['repo'] == ['nova-image']
    assert q['tag'] == ['abc']
    assert q['force'] == ['1']


def test_remove_image(http, client):
    http.delete(API + '/images/nova-image:abc', json=[{'Untagged': 'x'}])
    client.remove_image('nova-image:abc')
    assert http.last_request.method == 'DELETE'


def test_import_image_from_data(http, client):
    http.post(API + '/images/create', text='{"status": "sha256:3"}\r\n')
    client.import_image_from_data(b'rootfs', 'nova-test', 'v1',
                                  changes=['CMD ["/bin/sh"]', 'ENV A=1'])
    q = query(http.last_request)
    assert q['fromSrc'] == ['-']
    assert q['repo'] == ['nova-test']
    assert q['tag'] == ['v1']
    assert q['changes'] == ['CMD ["/bin/sh"]', 'ENV A=1']
    assert http.last_request.body == b'rootfs'


def test_import_image_bad_tarball(http, client):
    http.post(API + '/images/create', status_code=500, json={
        'message': 'Error processing tar file: invalid tar header'})
    with pytest.raises(exception.DockerServerError) as e:
        client.import_image_from_data(b'junk', 'nova-test', 'v1', [])
    assert 'invalid tar header' in str(e.value)


def test_load_image_streams_the_tarball_in(http, client):
    progress = [{'stream': 'Loaded image: x:1\n'}]
    received = []
    http.post(API + '/images/load', raw=streamed(json_lines(*progress),
                                                 received=received))
    sent = []

    def tarball():
        for piece in (b'a' * 10, b'b' * 10):
            sent.append(piece)
            yield piece

    assert client.load_image(tarball()) == progress
    assert sent == [b'a' * 10, b'b' * 10]
    assert received == [b'a' * 10 + b'b' * 10]
    assert http.last_request.qs == {'quiet': ['true']}


@pytest.mark.parametrize('message', [{'error': 'unexpected EOF'},
                                     {'message': 'invalid tar header'}])
def test_load_image_error_in_stream(http, client, message):
    http.post(API + '/images/load',
              raw=streamed(json_lines({'stream': 'Loading'}, message)))
    with pytest.raises(exception.DockerServerError) as e:
        client.load_image(iter([b'x']))
    assert list(message.values())[0] in str(e.value)


def test_load_image_refused_as_a_whole(http, client):
    http.post(API + '/images/load', raw=streamed(
        b'{"message": "no space left"}', status=500, chunked=False))
    with pytest.raises(exception.DockerServerError) as e:
        client.load_image(iter([b'x']))
    assert 'no space left' in str(e.value)


def test_get_image_streams_chunks(http, client):
    data = bytes(range(256)) * 40
    http.get(API + '/images/snap:v1/get', raw=streamed(data, chunked=False))
    stream = client.get_image('snap:v1', chunk_size=1000)
    assert not isinstance(stream, (bytes, list))
    chunks = list(stream)
    assert b''.join(chunks) == data
    assert max(len(c) for c in chunks) <= 1000


def test_get_image_not_found_before_streaming(http, client):
    # Raised by the call, not in the middle of the caller's upload.
    http.get(API + '/images/snap:v1/get', status_code=404,
             json={'message': 'No such image: snap:v1'})
    with pytest.raises(exception.DockerNotFound):
        client.get_image('snap:v1')


def test_get_image_broken_stream_is_translated(http, client):
    http.get(API + '/images/snap:v1/get',
             raw=streamed(b'x' * 10, chunked=False,
                          fail_with=ConnectionResetError()))
    stream = client.get_image('snap:v1', chunk_size=4)
    with pytest.raises(exception.DockerUnreachable):
        list(stream)


# Events


EVENTS = [{'Type': 'container', 'Action': 'die', 'id': 'c1'},
          {'Type': 'container', 'Action': 'start', 'id': 'c2'}]


def test_events_iterator_and_close(http, client):
    http.get(API + '/events', raw=streamed(json_lines(*EVENTS)))
    events, close = client.events({'type': ['container']}, since=17)
    assert iter(events) is events
    assert next(events) == EVENTS[0]
    q = query(http.last_request)
    assert json.loads(q['filters'][0]) == {'type': ['container']}
    assert q['since'] == ['17']
    close()
    assert list(events) == []


def test_events_read_all(http, client):
    http.get(API + '/events', raw=streamed(json_lines(*EVENTS)))
    events, close = client.events({})
    assert list(events) == EVENTS
    close()


def test_events_stream_broken_ends_it(http, client):
    # The SDK ends a broken event stream; the caller follows it anew.
    http.get(API + '/events', raw=streamed(
        json_lines(EVENTS[0]), fail_with=ConnectionResetError()))
    events, close = client.events({})
    assert list(events) == [EVENTS[0]]
    close()


def test_events_stream_read_timeout(http, client):
    http.get(API + '/events', raw=streamed(b'', fail_with=socket.timeout()))
    events, close = client.events({})
    with pytest.raises(exception.DockerTimeout):
        next(events)
    close()


def test_events_refused_ends_the_stream(http, client):
    # The SDK reads the status with the first event, and ends the stream
    # on any error of it; the caller follows it anew.
    http.get(API + '/events', raw=streamed(b'{"message": "boom"}',
                                           status=500, chunked=False))
    events, close = client.events({})
    assert list(events) == []
    close()


# Errors by HTTP status


@pytest.mark.parametrize('status,error', [
    (404, exception.DockerNotFound),
    (409, exception.DockerConflict),
    (500, exception.DockerServerError),
    (503, exception.DockerServerError),
    (400, exception.DockerDriverException),
    (401, exception.DockerDriverException),
    (403, exception.DockerDriverException),
])
def test_http_status_is_translated(http, client, status, error):
    http.post(API + '/containers/nova-1/start', status_code=status,
              json={'message': 'engine says %d' % status})
    with pytest.raises(exception.DockerDriverException) as e:
        client.start('nova-1')
    assert type(e.value) is error
    assert 'engine says %d' % status in str(e.value)
    assert 'nova-1' in str(e.value)
    assert isinstance(e.value.__cause__, docker_client.docker_errors.APIError)


def test_not_found_names_what(http, client):
    http.get(API + '/images/nova-image:abc/json', status_code=404,
             json={'message': 'No such image: nova-image:abc'})
    with pytest.raises(exception.DockerNotFound) as e:
        client.inspect_image('nova-image:abc')
    assert 'image nova-image:abc' in str(e.value)


def test_conflict_on_create(http, client):
    http.post(API + '/containers/create', status_code=409,
              json={'message': 'name in use'})
    with pytest.raises(exception.DockerConflict):
        client.create_container('img', 'nova-1', {})


# Errors of the transport


@pytest.mark.parametrize('error,expected', [
    (requests.exceptions.ConnectionError, exception.DockerUnreachable),
    (ConnectionRefusedError, exception.DockerUnreachable),
    (requests.exceptions.ReadTimeout, exception.DockerTimeout),
    (requests.exceptions.ConnectTimeout, exception.DockerTimeout),
])
def test_transport_errors(http, client, error, expected):
    http.get(API + '/version', json=VERSION)
    client.version()  # negotiated
    http.get(API + '/info', exc=error)
    with pytest.raises(exception.DockerUnreachable) as e:
        client.info()
    assert type(e.value) is expected
    assert URL in str(e.value)


def test_connection_refused_names_the_url():
    # A real refused connection, no mock: nothing listens on that port.
    url = 'tcp://127.0.0.1:%d' % free_port()
    c = docker_client.DockerClient(url, timeout=5)
    with pytest.raises(exception.DockerUnreachable) as e:
        c.version()
    assert type(e.value) is exception.DockerUnreachable
    assert url in str(e.value)


def test_missing_unix_socket_names_the_socket(tmp_path):
    url = 'unix://%s/docker.sock' % tmp_path
    c = docker_client.DockerClient(url, timeout=5)
    with pytest.raises(exception.DockerUnreachable) as e:
        c.info()
    assert url in str(e.value)


# Errors of the version negotiation, by cause


@pytest.mark.parametrize('answer,expected', [
    (dict(exc=requests.exceptions.ConnectionError),
     exception.DockerUnreachable),
    (dict(exc=requests.exceptions.ReadTimeout), exception.DockerTimeout),
    (dict(status_code=500, json={'message': 'boom'}),
     exception.DockerServerError),
    (dict(status_code=404, json={'message': 'page not found'}),
     exception.DockerNotFound),
    (dict(json={'Version': 'no ApiVersion'}),
     exception.DockerDriverException),
    (dict(json={'ApiVersion': 'one.forty'}),
     exception.DockerDriverException),
])
def test_api_version_negotiation_failure(http, answer, expected):
    http.get(ROOT + '/version', **answer)
    c = docker_client.DockerClient(URL)
    with pytest.raises(exception.DockerDriverException) as e:
        c.info()
    assert type(e.value) is expected
    assert 'info' not in [r.path for r in http.request_history]


def test_negotiation_is_retried_after_a_failure(http):
    http.get(ROOT + '/version', [
        {'exc': requests.exceptions.ConnectionError},
        {'json': VERSION}])
    http.get(API + '/info', json={'ID': 'x'})
    c = docker_client.DockerClient(URL)
    with pytest.raises(exception.DockerUnreachable):
        c.info()
    assert c.info() == {'ID': 'x'}


# Configuration


@pytest.fixture
def conf():
    c = cfg.ConfigOpts()
    docker_conf.register_opts(c)
    c([], default_config_files=[])
    fixture = cfg_fixture.Config(c)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def _tls(conf, **overrides):
    conf.config(group='docker', **overrides)
    return docker_client.DockerClient.from_conf(conf.conf)


def test_from_conf_defaults(conf):
    c = docker_client.DockerClient.from_conf(conf.conf)
    assert c.url == 'unix:///var/run/docker.sock'
    assert c._tls is None
    assert c._timeout == 120


def test_from_conf_timeout(conf):
    assert _tls(conf, api_timeout=3)._timeout == 3


@pytest.fixture
def pems(tmp_path):
    """Paths of (ca, cert, key) files: the SDK checks that they exist."""
    paths = []
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        path = tmp_path / name
        path.write_text('not read by these tests')
        paths.append(str(path))
    return paths


def test_from_conf_tls_verifies_with_the_ca_file(conf, pems):
    ca, cert, key = pems
    c = _tls(conf, host_url='tcp://d:2376', ca_file=ca, cert_file=cert,
             key_file=key)
    assert c._tls.verify == ca
    assert c._tls.cert == (cert, key)


def test_from_conf_tls_verifies_with_system_cas(conf, pems):
    ca, cert, key = pems
    c = _tls(conf, host_url='tcp://d:2376', cert_file=cert, key_file=key)
    assert c._tls.verify is True
    assert c._tls.cert == (cert, key)


def test_from_conf_tcp_is_tls_verified_even_without_options(conf):
    c = _tls(conf, host_url='tcp://d:2376')
    assert c._tls.verify is True
    assert c._tls.cert is None


def test_from_conf_plain_http_only_when_asked(conf):
    assert _tls(conf, host_url='http://d:2375')._tls is None


def test_from_conf_missing_key_file_is_our_error(conf, pems):
    ca, cert, key = pems
    with pytest.raises(exception.DockerDriverException) as e:
        _tls(conf, host_url='tcp://d:2376', cert_file=cert,
             key_file='/nonexistent/key.pem')
    assert 'TLS' in str(e.value)


def test_from_conf_api_insecure_turns_verification_off(conf, pems):
    ca, cert, key = pems
    c = _tls(conf, host_url='tcp://d:2376', ca_file=ca, api_insecure=True)
    assert c._tls.verify is False
    assert c._tls.cert is None


def test_from_conf_tls_is_used_on_the_wire(conf, http, pems):
    ca, cert, key = pems
    http.get('https://d:2376/version', json=VERSION)
    http.get('https://d:2376/v1.41/info', json={})
    c = _tls(conf, host_url='tcp://d:2376', ca_file=ca, cert_file=cert,
             key_file=key)
    c.info()
    assert http.last_request.scheme == 'https'
    assert http.last_request.verify == ca
    assert http.last_request.cert == (cert, key)


# Attach: a hijacked connection, served here by a real HTTP server on a
# unix socket that echoes what it gets after the upgrade.


def _attach_server(path, requests_seen):
    import threading
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(4)

    def answer(conn):
        buf = b''
        with conn:
            while True:
                while b'\r\n\r\n' not in buf:
                    data = conn.recv(4096)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b'\r\n\r\n', 1)
                line = head.split(b'\r\n')[0].decode()
                requests_seen.append(line)
                if '/version' in line:
                    body = json.dumps(VERSION).encode()
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: '
                                 b'application/json\r\nContent-Length: %d'
                                 b'\r\n\r\n%s' % (len(body), body))
                    continue
                conn.sendall(b'HTTP/1.1 101 UPGRADED\r\nContent-Type: '
                             b'application/vnd.docker.raw-stream\r\n'
                             b'Connection: Upgrade\r\nUpgrade: tcp\r\n'
                             b'\r\n')
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(data.upper())

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return server


def test_attach_socket_is_a_plain_two_way_socket(tmp_path):
    path = str(tmp_path / 'd.sock')
    seen = []
    server = _attach_server(path, seen)
    try:
        c = docker_client.DockerClient('unix://' + path, timeout=7)
        sock = c.attach_socket('abc')
        try:
            assert isinstance(sock, socket.socket)
            assert sock.gettimeout() is None
            sock.settimeout(5)
            sock.sendall(b'echo hi\n')
            got = b''
            while b'\n' not in got:
                got += sock.recv(100)
            assert got == b'ECHO HI\n'
        finally:
            sock.close()
    finally:
        server.close()
    attach = [line for line in seen if 'attach' in line][0]
    assert attach.startswith('POST /v1.41/containers/abc/attach?')
    params = urllib.parse.parse_qs(attach.split('?', 1)[1].split(' ')[0])
    assert {k: params[k] for k in ('stdin', 'stdout', 'stderr', 'stream')} \
        == {'stdin': ['1'], 'stdout': ['1'], 'stderr': ['1'],
            'stream': ['1']}


def test_attach_socket_missing_container(http, client):
    http.post(API + '/containers/gone/attach', status_code=404,
              json={'message': 'No such container: gone'})
    with pytest.raises(exception.DockerNotFound):
        client.attach_socket('gone')
