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

"""An interactive serial console: a TCP endpoint per container.

nova-serialproxy connects to ``host:port`` from ``get_serial_console`` and
relays raw bytes to and from the user's websocket. For a container that
endpoint is a socket on ``[serial_console] proxyclient_address``, with a
port from ``[serial_console] port_range``, bridged to the container's
attach stream: what comes in is the main process's stdin, what goes out is
its stdout and stderr. With a TTY (see ``knobs.tty``) the stream is
raw; without one Docker frames it, and the frames are decoded here.

The endpoint is opened when a console is first asked for, stays across
reboots (each connection attaches afresh), and is closed with its port
released on destroy and when nova-compute stops. One client at a time: a
new connection replaces the previous one. A connection ends after
``[docker] console_idle_timeout`` seconds without traffic and after
``[docker] console_session_timeout`` seconds in all; every read is at most
``CHUNK`` bytes and every write must finish within ``WRITE_TIMEOUT``.
"""

import selectors
import socket
import struct
import threading
import time

from nova.console import serial as serial_ports
from nova.console import type as console_type
from nova import exception as nova_exception
from nova.i18n import _
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

CHUNK = 4096
WRITE_TIMEOUT = 10.0
ACCEPT_POLL = 0.5
BIND_ATTEMPTS = 5
NOT_RUNNING = b'\r\n[the instance is not running]\r\n'


def unavailable(kind):
    """The answer to a graphical console (VNC, SPICE, MKS) request: a
    container has no screen. Nova's API answers 400 with this message
    (a plain ConsoleTypeUnavailable, which crosses RPC as it is).
    """
    return nova_exception.ConsoleTypeUnavailable(
        message=_('Console type %s is not available for containers; use '
                  'the serial console (openstack console url show '
                  '--serial)') % kind)


# Docker's multiplexed attach stream (no TTY): an 8-byte header (stream,
# three zero bytes, payload size as a big-endian uint32), then the payload.
HEADER = struct.Struct('>BxxxI')
STDIN, STDOUT, STDERR = 0, 1, 2


class FrameError(ValueError):
    pass


class FrameDecoder(object):
    """Decodes Docker's multiplexed stream incrementally.

    ``feed()`` takes whatever bytes arrived and returns the stdout and
    stderr payload bytes among them, in order. It holds at most one
    incomplete header between calls, never a whole frame.
    """

    def __init__(self):
        self._header = b''
        self._stream = None
        self._left = 0

    def feed(self, data):
        out = []
        i = 0
        while i < len(data):
            if not self._left:
                need = HEADER.size - len(self._header)
                self._header += data[i:i + need]
                i += need
                if len(self._header) < HEADER.size:
                    break
                self._stream, self._left = HEADER.unpack(self._header)
                self._header = b''
                if self._stream not in (STDIN, STDOUT, STDERR):
                    raise FrameError('unknown stream %d' % self._stream)
                continue
            take = min(self._left, len(data) - i)
            if self._stream in (STDOUT, STDERR):
                out.append(data[i:i + take])
            i += take
            self._left -= take
        return b''.join(out)


def _readable(sock):
    """Bytes a TLS socket has already decrypted (select() cannot see
    them).
    """
    pending = getattr(sock, 'pending', None)
    return pending() if pending is not None else 0


class Session(object):
    """One client connection bridged to one container attach stream."""

    def __init__(self, client, open_stream, idle_timeout, session_timeout,
                 name):
        self._client = client
        self._open_stream = open_stream
        self._idle_timeout = idle_timeout
        self._session_timeout = session_timeout
        self._name = name
        self._backend = None
        self._closed = threading.Event()

    def run(self):
        try:
            try:
                self._backend, tty = self._open_stream()
            except nova_exception.InstanceNotRunning:
                self._send_quietly(NOT_RUNNING)
                return
            except Exception as e:   # ends this session, not the proxy
                LOG.warning('Serial console of %s: cannot attach: %s',
                            self._name, e)
                return
            if not self._closed.is_set():
                self._bridge(None if tty else FrameDecoder())
        except (OSError, FrameError) as e:
            LOG.debug('Serial console of %s: connection ended: %s',
                      self._name, e)
        finally:
            self.close()

    def _send_quietly(self, data):
        try:
            self._client.settimeout(WRITE_TIMEOUT)
            self._client.sendall(data)
        except OSError:
            pass

    def _bridge(self, decoder):
        client, backend = self._client, self._backend
        for sock in (client, backend):
            sock.settimeout(WRITE_TIMEOUT)
        started = last = time.monotonic()
        with selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ)
            sel.register(backend, selectors.EVENT_READ)
            while not self._closed.is_set():
                now = time.monotonic()
                wait = min(last + self._idle_timeout,
                           started + self._session_timeout) - now
                if wait <= 0:
                    LOG.info('Serial console of %s: closing a connection '
                             'that was idle or open too long', self._name)
                    return
                ready = [key.fileobj for key, _ in sel.select(wait)]
                if _readable(backend) and backend not in ready:
                    ready.append(backend)
                for sock in ready:
                    data = sock.recv(CHUNK)
                    if not data:
                        return
                    if sock is client:
                        backend.sendall(data)
                    else:
                        client.sendall(decoder.feed(data) if decoder
                                       else data)
                    last = time.monotonic()

    def close(self):
        self._closed.set()
        for sock in (self._client, self._backend):
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class Endpoint(object):
    """A listening socket whose connections become :class:`Session`\\ s."""

    def __init__(self, host, port, open_stream, idle_timeout,
                 session_timeout, name):
        self.host = host
        self.port = port
        self._open_stream = open_stream
        self._idle_timeout = idle_timeout
        self._session_timeout = session_timeout
        self._name = name
        self._listener = None
        self._session = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = None

    def start(self):
        family = socket.getaddrinfo(self.host, self.port,
                                    type=socket.SOCK_STREAM)[0][0]
        self._listener = socket.create_server((self.host, self.port),
                                              family=family, backlog=1)
        self._listener.settimeout(ACCEPT_POLL)
        self._thread = threading.Thread(
            target=self._serve, daemon=True,
            name='serial-console-%s' % self._name)
        self._thread.start()

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _serve(self):
        while not self._stopped.is_set():
            try:
                conn, _addr = self._listener.accept()
            except socket.timeout:
                continue
            except OSError as e:
                if not self._stopped.is_set():
                    LOG.warning('Serial console of %s stopped listening: '
                                '%s', self._name, e)
                break
            if self._stopped.is_set():
                conn.close()
                break
            self._replace_session(conn)

    def _replace_session(self, conn):
        session = Session(conn, self._open_stream, self._idle_timeout,
                          self._session_timeout, self._name)
        with self._lock:
            previous, self._session = self._session, session
        if previous is not None:
            previous.close()
        threading.Thread(target=session.run, daemon=True,
                         name='serial-session-%s' % self._name).start()

    def stop(self):
        self._stopped.set()
        if self._listener is not None:
            # shutdown() wakes the accept() in _serve at once; the port is
            # free when that thread has let go of the socket.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        if self._thread is not None:
            self._thread.join(ACCEPT_POLL)
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


class Consoles(object):
    """The serial console endpoints of this host's instances.

    ``conf`` is nova's configuration (``[serial_console]`` and ``[docker]``
    are read when an endpoint opens).
    """

    def __init__(self, containers, client, conf):
        self._containers = containers
        self._client = client
        self._conf = conf
        self._endpoints = {}
        self._lock = threading.Lock()
        self._stopped = False

    def get(self, instance):
        """The instance's ``ConsoleSerial``, opening its endpoint first
        when needed.
        """
        if not self._conf.serial_console.enabled:
            raise nova_exception.ConsoleTypeUnavailable(console_type='serial')
        # InstanceNotFound when the container is gone.
        self._containers.inspect(instance)
        with self._lock:
            if self._stopped:
                # nova-compute is stopping: a late request (the console
                # proxy validating a port) must not open a new listener.
                raise nova_exception.ConsoleNotAvailable()
            endpoint = self._endpoints.get(instance.uuid)
            if endpoint is None or not endpoint.alive:
                if endpoint is not None:
                    self._close(endpoint)
                endpoint = self._open(instance)
                self._endpoints[instance.uuid] = endpoint
        return console_type.ConsoleSerial(host=endpoint.host,
                                          port=endpoint.port)

    def _open(self, instance):
        host = self._conf.serial_console.proxyclient_address
        opts = self._conf.docker
        for _attempt in range(BIND_ATTEMPTS):
            port = serial_ports.acquire_port(host)
            endpoint = Endpoint(host, port,
                                lambda: self._attach(instance),
                                opts.console_idle_timeout,
                                opts.console_session_timeout, instance.uuid)
            try:
                endpoint.start()
            except OSError as e:
                # Taken by someone else since acquire_port checked it.
                LOG.warning('Serial console port %s:%s: %s', host, port, e,
                            instance=instance)
                serial_ports.release_port(host, port)
                continue
            LOG.info('Serial console listening on %s:%s', host, port,
                     instance=instance)
            return endpoint
        raise nova_exception.SocketPortRangeExhaustedException(host=host)

    def _attach(self, instance):
        info = self._containers.inspect(instance)
        if not info['State'].get('Running'):
            raise nova_exception.InstanceNotRunning(instance_id=instance.uuid)
        tty = bool(info['Config'].get('Tty'))
        return self._client.attach_socket(info['Id']), tty

    @staticmethod
    def _close(endpoint):
        endpoint.stop()
        serial_ports.release_port(endpoint.host, endpoint.port)

    def release(self, instance_uuid):
        """Close the instance's endpoint and release its port."""
        with self._lock:
            endpoint = self._endpoints.pop(instance_uuid, None)
        if endpoint is not None:
            self._close(endpoint)

    def start(self):
        """Open endpoints on demand (again, after :meth:`stop`)."""
        with self._lock:
            self._stopped = False

    def stop(self):
        """Close every endpoint, release its port and open no more."""
        with self._lock:
            endpoints, self._endpoints = list(self._endpoints.values()), {}
            self._stopped = True
        for endpoint in endpoints:
            self._close(endpoint)
