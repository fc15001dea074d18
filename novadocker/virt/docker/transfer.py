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

"""A pinned-TLS stream of bytes from one compute host to another.

The source opens an :class:`Endpoint`: a TCP listener with a certificate
made for it alone (an ephemeral key that never touches a disk for longer
than it takes to load it) and a random token. Both travel to the
destination inside the migration's ``disk_info``, over Nova's RPC. The
destination connects, checks that the server presents exactly that
certificate (its SHA-256 fingerprint), sends the token and a request:

* ``GET`` (:func:`receive`): the stream, whole, ended by TLS's close. The
  endpoint serves it again to a later ``GET`` (the destination retries
  after a failure).
* ``BUILT`` or ``RELEASE`` (:func:`notify`): the destination has what
  it needs (``RELEASE``: and the source's copy may go); the endpoint
  closes, and tells its owner which it was.

The endpoint closes after ``timeout`` seconds if nobody fetched the
stream; once fetched it stays until the destination's word or its owner
closes it. Nobody else gets anything: a wrong token is refused (and
slowed down).

The bytes pass through in chunks (a socket buffer and one chunk on each
side), so memory stays flat whatever their size, and no file holds them.
"""

import datetime
import hashlib
import hmac
import os
import secrets
import socket
import ssl
import tempfile
import threading
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import NameOID
from oslo_log import log as logging

from novadocker.virt.docker import exception

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024
TOKEN_BYTES = 32
# Seconds the endpoint pauses after a connection without the right token.
BAD_CLIENT_PAUSE = 1
# Seconds a connected peer may stay silent (handshake, token, reads).
IO_TIMEOUT = 60
# Seconds the receiver waits for the stream's next bytes: the source's
# docker save says nothing until it has exported a layer, which takes a
# while for a large one on a busy host.
STREAM_TIMEOUT = 600

GET = 'GET'
# The destination built the server from the stream (finish_migration).
BUILT = 'BUILT'
# The migration is over without a confirm or a revert: the destination
# built the server after a failed finish_migration (a hard reboot), or the
# server was deleted (or rebuilt) there. The source's copy may go.
RELEASE = 'RELEASE'
_REQUESTS = (GET, BUILT, RELEASE)
_MAX_REQUEST = max(len(r) for r in _REQUESTS) + 1
_OK = b'OK\n'


class TransferError(exception.DockerDriverException):
    msg_fmt = 'Migration stream: %(reason)s'


def _certificate():
    """An ephemeral key and a self-signed certificate, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         'novadocker-migration')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM),
            hashlib.sha256(cert.public_bytes(
                serialization.Encoding.DER)).hexdigest())


def _server_context():
    key, cert, fingerprint = _certificate()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl loads a key only from a file: a private directory, gone at once.
    with tempfile.TemporaryDirectory(prefix='novadocker-tls-') as tmp:
        path = os.path.join(tmp, 'endpoint.pem')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(key + cert)
        context.load_cert_chain(path)
    return context, fingerprint


class Endpoint(object):
    """Serves ``chunks()`` to the holder of the token until it is told
    the destination is done.

    ``done(outcome)`` is called exactly once, from the endpoint's thread,
    when it ends: ``outcome`` is BUILT or RELEASE (the destination's
    word), or None (nobody came in time, or :meth:`close`).
    """

    def __init__(self, chunks, done, bind_host, timeout, name='migration'):
        self._chunks = chunks
        self._done = done
        self._timeout = timeout
        self._closed = threading.Event()
        self._context, fingerprint = _server_context()
        self.token = secrets.token_hex(TOKEN_BYTES)
        family = socket.AF_INET6 if ':' in bind_host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((bind_host, 0))
        self._listener.listen(2)
        self.address = {'host': bind_host,
                        'port': self._listener.getsockname()[1],
                        'token': self.token, 'fingerprint': fingerprint}
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='novadocker-%s' % name)
        self._thread.start()

    def close(self):
        """Stop waiting (a transfer in progress is cut); idempotent."""
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait(self, timeout=None):
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self):
        outcome = None
        try:
            outcome = self._serve()
        except Exception:   # a thread of its own: done() must still run
            LOG.exception('Migration endpoint failed')
        finally:
            self._listener.close()
            self._done(outcome)

    def _serve(self):
        # Until the first fetch, the endpoint waits `timeout` seconds;
        # after it, until the destination's word or close().
        deadline = time.monotonic() + self._timeout
        while not self._closed.is_set():
            try:
                self._listener.settimeout(
                    None if deadline is None
                    else max(deadline - time.monotonic(), 0.001))
                raw, peer = self._listener.accept()
            except (socket.timeout, OSError):
                if not self._closed.is_set():
                    LOG.warning('Nobody fetched the migration stream in '
                                '%d s; closing it', self._timeout)
                return None
            with raw:
                request = self._request(raw, peer)
                if request is None:
                    self._closed.wait(BAD_CLIENT_PAUSE)
                    continue
                conn, verb = request
                with conn:
                    if verb == GET:
                        deadline = None
                        self._send(conn, peer)
                        continue
                    try:
                        conn.sendall(_OK)
                        conn.unwrap()
                    except (OSError, ssl.SSLError) as e:
                        LOG.debug('Answering %s: %s', peer, e)
                    LOG.info('The destination %s: %s', peer, verb)
                    return verb
        return None

    def _request(self, raw, peer):
        """``(TLS connection, request)``, or None when the peer is not
        the destination.
        """
        raw.settimeout(IO_TIMEOUT)
        try:
            conn = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            LOG.warning('TLS handshake with %s failed: %s', peer, e)
            return None
        token = _read_line(conn, len(self.token) + 1)
        verb = _read_line(conn, _MAX_REQUEST)
        if token is None or not hmac.compare_digest(
                token.encode(), self.token.encode()):
            LOG.warning('Refused %s: wrong token', peer)
            conn.close()
            return None
        if verb not in _REQUESTS:
            LOG.warning('Refused %s: unknown request', peer)
            conn.close()
            return None
        return conn, verb

    def _send(self, conn, peer):
        sent = 0
        try:
            for chunk in self._chunks():
                if self._closed.is_set():
                    return False
                conn.sendall(chunk)
                sent += len(chunk)
        except (OSError, ssl.SSLError) as e:
            LOG.warning('Migration stream to %s broke after %d bytes: %s',
                        peer, sent, e)
            return False
        except Exception:
            # The engine's save failed: the stream is cut, the endpoint
            # stays for another try.
            LOG.exception('Migration stream to %s failed after %d bytes',
                          peer, sent)
            return False
        try:
            # TLS's close tells the receiver that the stream is whole.
            conn.unwrap()
        except (OSError, ssl.SSLError) as e:
            LOG.debug('Closing the migration stream: %s', e)
        LOG.info('Sent %d bytes to %s', sent, peer)
        return True


def _read_line(conn, limit):
    """One line of at most ``limit`` bytes (newline included), without
    it; None when the peer sends no such line.
    """
    got = b''
    try:
        while len(got) < limit and not got.endswith(b'\n'):
            part = conn.recv(1)
            if not part:
                break
            got += part
    except (OSError, ssl.SSLError):
        return None
    if not got.endswith(b'\n'):
        return None
    try:
        return got[:-1].decode('ascii')
    except UnicodeDecodeError:
        return None


def _connect(address, connect_timeout, verb):
    """A TLS connection to the endpoint (pinned), the request sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The certificate is pinned by its fingerprint instead of a CA.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    where = '%s:%s' % (address['host'], address['port'])
    try:
        raw = socket.create_connection((address['host'], address['port']),
                                       timeout=connect_timeout)
    except OSError as e:
        raise TransferError(reason='cannot reach %s: %s' % (where, e))
    try:
        raw.settimeout(IO_TIMEOUT)
        conn = context.wrap_socket(raw, suppress_ragged_eofs=False)
    except (OSError, ssl.SSLError) as e:
        raw.close()
        raise TransferError(reason='TLS with %s: %s' % (where, e))
    seen = hashlib.sha256(conn.getpeercert(binary_form=True)).hexdigest()
    if not hmac.compare_digest(seen, address['fingerprint']):
        conn.close()
        raise TransferError(reason='%s is not the migration endpoint '
                            '(certificate %s)' % (where, seen))
    try:
        conn.sendall(('%s\n%s\n' % (address['token'], verb)).encode())
    except (OSError, ssl.SSLError) as e:
        conn.close()
        raise TransferError(reason='request to %s: %s' % (where, e))
    return conn, where


def receive(address, connect_timeout=IO_TIMEOUT):
    """Yield the chunks an :class:`Endpoint` at ``address`` serves.

    Raises TransferError when the peer is not that endpoint, or when the
    stream breaks or ends without TLS's close (a cut stream).
    """
    conn, where = _connect(address, connect_timeout, GET)
    with conn:
        conn.settimeout(STREAM_TIMEOUT)
        try:
            yield from _chunks(conn)
        except (OSError, ssl.SSLError) as e:
            raise TransferError(reason='stream from %s broke: %s'
                                % (where, e))


def notify(address, verb, connect_timeout=IO_TIMEOUT):
    """Tell the endpoint at ``address`` that the destination is done
    (BUILT or RELEASE); TransferError when it did not hear it.
    """
    conn, where = _connect(address, connect_timeout, verb)
    with conn:
        try:
            answer = b''.join(_chunks(conn))
        except (OSError, ssl.SSLError) as e:
            raise TransferError(reason='%s did not answer: %s' % (where, e))
    if answer != _OK:
        raise TransferError(reason='%s did not take %s' % (where, verb))


def _chunks(conn):
    """The stream in chunks of CHUNK bytes (TLS hands out 16 KiB records),
    until the peer's TLS close.
    """
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        filled = 0
        while filled < CHUNK:
            n = conn.recv_into(view[filled:])
            if not n:
                break
            filled += n
        if filled:
            yield bytes(view[:filled])
        if filled < CHUNK:
            try:
                conn.unwrap()
            except (OSError, ssl.SSLError):
                pass
            return
