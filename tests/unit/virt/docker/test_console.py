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

"""The serial console endpoint: frame decoding, bridging, port bookkeeping.

Sockets are real (loopback and socket pairs); the container side is a
socket pair standing in for Docker's attach stream.
"""

import socket
import struct
import threading
import time

from nova.console import serial as serial_ports
from nova import context
from nova import exception
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker import console


def frame(stream, data):
    return struct.pack('>BxxxI', stream, len(data)) + data


def recv_until(sock, needle, timeout=5.0):
    sock.settimeout(timeout)
    data = b''
    deadline = time.monotonic() + timeout
    while needle not in data:
        if time.monotonic() > deadline:
            raise AssertionError('%r never came; got %r' % (needle, data))
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError('closed before %r; got %r' % (needle, data))
        data += chunk
    return data


def wait_closed(sock, timeout=5.0):
    """True once the peer has closed ``sock``'s connection."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return True


class FrameDecoderTest(test.NoDBTestCase):

    def test_stdout_and_stderr_payloads_in_order(self):
        dec = console.FrameDecoder()
        data = frame(1, b'out ') + frame(2, b'err ') + frame(1, b'again')
        self.assertEqual(b'out err again', dec.feed(data))

    def test_byte_by_byte(self):
        dec = console.FrameDecoder()
        data = frame(1, b'hello') + frame(2, b'') + frame(1, b'!')
        out = b''.join(dec.feed(data[i:i + 1]) for i in range(len(data)))
        self.assertEqual(b'hello!', out)

    def test_split_in_header_and_payload(self):
        dec = console.FrameDecoder()
        data = frame(1, b'abcdef') + frame(2, b'ghi')
        self.assertEqual(b'ab', dec.feed(data[:3 + 8 - 3 + 2]))
        self.assertEqual(b'cdefghi', dec.feed(data[3 + 8 - 3 + 2:]))

    def test_stdin_frames_are_not_output(self):
        dec = console.FrameDecoder()
        self.assertEqual(b'x', dec.feed(frame(0, b'typed') + frame(1, b'x')))

    def test_large_frame_streams_through(self):
        dec = console.FrameDecoder()
        payload = b'z' * (3 * console.CHUNK + 5)
        data = frame(1, payload)
        out = []
        for i in range(0, len(data), console.CHUNK):
            out.append(dec.feed(data[i:i + console.CHUNK]))
        self.assertEqual(payload, b''.join(out))
        # Nothing but a partial header is ever held back.
        self.assertLessEqual(len(dec._header), 8)

    def test_unknown_stream_is_an_error(self):
        dec = console.FrameDecoder()
        self.assertRaises(console.FrameError, dec.feed, frame(7, b'x'))


class EndpointTest(test.NoDBTestCase):
    """An endpoint on 127.0.0.1 bridged to a socket pair."""

    def setUp(self):
        super().setUp()
        self.backends = []
        self.tty = True

    def _open_stream(self):
        ours, theirs = socket.socketpair()
        self.backends.append(theirs)
        self.addCleanup(theirs.close)
        return ours, self.tty

    def _endpoint(self, idle=30, session=60):
        probe = socket.create_server(('127.0.0.1', 0))
        port = probe.getsockname()[1]
        probe.close()
        ep = console.Endpoint('127.0.0.1', port, self._open_stream, idle,
                              session, 'test')
        ep.start()
        self.addCleanup(ep.stop)
        return ep

    def _connect(self, ep):
        sock = socket.create_connection((ep.host, ep.port), timeout=5)
        self.addCleanup(sock.close)
        return sock

    def _backend(self, n=1):
        deadline = time.monotonic() + 5
        while len(self.backends) < n:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        return self.backends[n - 1]

    def test_tty_bytes_flow_both_ways(self):
        ep = self._endpoint()
        client = self._connect(ep)
        backend = self._backend()
        client.sendall(b'echo hi\n')
        self.assertEqual(b'echo hi\n', recv_until(backend, b'\n'))
        backend.sendall(b'hi\r\n')
        self.assertEqual(b'hi\r\n', recv_until(client, b'\r\n'))

    def test_multiplexed_output_is_decoded(self):
        self.tty = False
        ep = self._endpoint()
        client = self._connect(ep)
        backend = self._backend()
        backend.sendall(frame(1, b'hi\n') + frame(2, b'oops\n'))
        self.assertEqual(b'hi\noops\n', recv_until(client, b'oops\n'))

    def test_backend_closing_ends_the_connection(self):
        ep = self._endpoint()
        client = self._connect(ep)
        self._backend().close()
        self.assertTrue(wait_closed(client))

    def test_idle_connection_is_closed(self):
        ep = self._endpoint(idle=1)
        client = self._connect(ep)
        self._backend()
        started = time.monotonic()
        self.assertTrue(wait_closed(client, timeout=10))
        self.assertLess(time.monotonic() - started, 5)

    def test_session_timeout_closes_a_busy_connection(self):
        ep = self._endpoint(idle=30, session=1)
        client = self._connect(ep)
        backend = self._backend()
        stop = threading.Event()

        def keep_busy():
            while not stop.wait(0.1):
                try:
                    backend.sendall(b'.')
                except OSError:
                    return
        feeder = threading.Thread(target=keep_busy, daemon=True)
        feeder.start()
        self.addCleanup(feeder.join, 5)
        self.addCleanup(stop.set)
        started = time.monotonic()
        self.assertTrue(wait_closed(client, timeout=10))
        self.assertLess(time.monotonic() - started, 5)

    def test_new_client_replaces_the_previous_one(self):
        ep = self._endpoint()
        first = self._connect(ep)
        self._backend(1)
        second = self._connect(ep)
        backend = self._backend(2)
        self.assertTrue(wait_closed(first))
        backend.sendall(b'to second')
        self.assertEqual(b'to second', recv_until(second, b'second'))

    def test_not_running_is_told_and_closed(self):
        def not_running():
            raise exception.InstanceNotRunning(instance_id='x')
        probe = socket.create_server(('127.0.0.1', 0))
        port = probe.getsockname()[1]
        probe.close()
        ep = console.Endpoint('127.0.0.1', port, not_running, 30, 60, 't')
        ep.start()
        self.addCleanup(ep.stop)
        client = self._connect(ep)
        self.assertIn(b'not running', recv_until(client, b'running'))
        self.assertTrue(wait_closed(client))

    def test_stop_closes_listener_and_session(self):
        ep = self._endpoint()
        client = self._connect(ep)
        self._backend()
        ep.stop()
        self.assertTrue(wait_closed(client))
        deadline = time.monotonic() + 5
        while ep.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(ep.alive)
        self.assertRaises(OSError, socket.create_connection,
                          (ep.host, ep.port), 1)


class _Containers(object):
    def __init__(self):
        self.gone = set()

    def inspect(self, instance):
        if instance.uuid in self.gone:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return {'Id': 'c-' + instance.uuid, 'State': {'Running': True},
                'Config': {'Tty': True}}


class ConsolesTest(test.NoDBTestCase):
    """Port bookkeeping through nova.console.serial."""

    def setUp(self):
        super().setUp()
        probe = socket.create_server(('127.0.0.1', 0))
        start = probe.getsockname()[1]
        probe.close()
        self.range = (start, start + 3)
        self.flags(enabled=True, proxyclient_address='127.0.0.1',
                   port_range='%d:%d' % self.range, group='serial_console')
        self.containers = _Containers()
        self.consoles = console.Consoles(self.containers, client=None,
                                         conf=test.CONF)
        self.addCleanup(self.consoles.stop)
        ctx = context.get_admin_context()
        self.instances = [fake_instance.fake_instance_obj(ctx)
                          for _ in range(4)]

    def _allocated(self):
        return {port for host, port in serial_ports.ALLOCATED_PORTS
                if host == '127.0.0.1' and
                self.range[0] <= port < self.range[1]}

    def test_disabled(self):
        self.flags(enabled=False, group='serial_console')
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.consoles.get, self.instances[0])
        self.assertEqual(set(), self._allocated())

    def test_same_port_while_open(self):
        first = self.consoles.get(self.instances[0])
        again = self.consoles.get(self.instances[0])
        self.assertEqual('127.0.0.1', first.host)
        self.assertEqual(first.port, again.port)
        self.assertEqual({first.port}, self._allocated())

    def test_each_instance_its_own_port_until_exhausted(self):
        ports = {self.consoles.get(i).port for i in self.instances[:3]}
        self.assertEqual(set(range(*self.range)), ports)
        self.assertRaises(exception.SocketPortRangeExhaustedException,
                          self.consoles.get, self.instances[3])

    def test_release_frees_the_port_for_another_instance(self):
        port = self.consoles.get(self.instances[0]).port
        self.consoles.release(self.instances[0].uuid)
        self.assertEqual(set(), self._allocated())
        self.assertEqual(port, self.consoles.get(self.instances[1]).port)
        # And the port is really free again: it can be bound.
        self.assertEqual({port}, self._allocated())

    def test_stop_releases_all_and_opens_no_more_until_started(self):
        for i in self.instances[:2]:
            self.consoles.get(i)
        self.consoles.stop()
        self.assertEqual(set(), self._allocated())
        # A late request while nova-compute stops opens nothing.
        self.assertRaises(exception.ConsoleNotAvailable, self.consoles.get,
                          self.instances[0])
        self.assertEqual(set(), self._allocated())
        self.consoles.start()
        port = self.consoles.get(self.instances[0]).port
        self.assertEqual({port}, self._allocated())

    def test_missing_container_takes_no_port(self):
        self.containers.gone.add(self.instances[0].uuid)
        self.assertRaises(exception.InstanceNotFound, self.consoles.get,
                          self.instances[0])
        self.assertEqual(set(), self._allocated())

    def test_port_taken_by_someone_else_is_skipped(self):
        squatter = socket.create_server(('127.0.0.1', self.range[0]))
        self.addCleanup(squatter.close)
        port = self.consoles.get(self.instances[0]).port
        self.assertEqual(self.range[0] + 1, port)
