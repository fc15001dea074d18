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

"""A one-shot, pinned-TLS stream of bytes from one compute host to another.

The source opens an :class:`Endpoint`: a TCP listener with a certificate
made for it alone (an ephemeral key that never touches a disk for longer
than it takes to load it) and a random token. Both travel to the
destination inside the migration's ``disk_info``, over Nova's RPC. The
destination (:func:`receive`) connects, checks that the server presents
exactly that certificate (its SHA-256 fingerprint), sends the token, and
reads the stream. The source serves the first connection that presents
the token, once, and then closes: nothing listens for longer than one
transfer or ``timeout`` seconds, whichever ends first.

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
# Connections without the right token that the endpoint tolerates.
MAX_BAD_CLIENTS = 8
# Seconds a connected peer may stay silent (handshake, token, reads).
IO_TIMEOUT = 60


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
    """Serves ``chunks()`` once to the holder of the token.

    ``done(ok)`` is called exactly once, from the endpoint's thread, when
    the stream was served (``ok`` True), failed, timed out or was closed.
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
        ok = False
        try:
            ok = self._serve()
        except Exception:   # a thread of its own: done() must still run
            LOG.exception('Migration endpoint failed')
        finally:
            self._listener.close()
            self._done(ok)

    def _serve(self):
        deadline = time.monotonic() + self._timeout
        bad = 0
        while not self._closed.is_set() and bad < MAX_BAD_CLIENTS:
            try:
                self._listener.settimeout(max(deadline - time.monotonic(),
                                              0.001))
                raw, peer = self._listener.accept()
            except (socket.timeout, OSError):
                if not self._closed.is_set():
                    LOG.warning('Nobody fetched the migration stream in '
                                '%d s; closing it', self._timeout)
                return False
            with raw:
                raw.settimeout(IO_TIMEOUT)
                try:
                    conn = self._context.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    LOG.warning('TLS handshake with %s failed: %s', peer, e)
                    bad += 1
                    continue
                with conn:
                    if not self._authorized(conn):
                        LOG.warning('Refused %s: wrong token', peer)
                        bad += 1
                        continue
                    return self._send(conn, peer)
        return False

    def _authorized(self, conn):
        expected = self.token.encode() + b'\n'
        got = b''
        try:
            while len(got) < len(expected):
                part = conn.recv(len(expected) - len(got))
                if not part:
                    break
                got += part
        except (OSError, ssl.SSLError):
            return False
        return hmac.compare_digest(got, expected)

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
        try:
            # TLS's close tells the receiver that the stream is whole.
            conn.unwrap()
        except (OSError, ssl.SSLError) as e:
            LOG.debug('Closing the migration stream: %s', e)
        LOG.info('Sent %d bytes to %s', sent, peer)
        return True


def receive(address, connect_timeout=IO_TIMEOUT):
    """Yield the chunks an :class:`Endpoint` at ``address`` serves.

    Raises TransferError when the peer is not that endpoint, or when the
    stream breaks or ends without TLS's close (a cut stream).
    """
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
    with conn:
        seen = hashlib.sha256(conn.getpeercert(binary_form=True)).hexdigest()
        if not hmac.compare_digest(seen, address['fingerprint']):
            raise TransferError(reason='%s is not the migration endpoint '
                                '(certificate %s)' % (where, seen))
        try:
            conn.sendall(address['token'].encode() + b'\n')
            yield from _chunks(conn)
        except (OSError, ssl.SSLError) as e:
            raise TransferError(reason='stream from %s broke: %s'
                                % (where, e))


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
