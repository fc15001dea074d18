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

"""DockerClient over TLS to a real dockerd started with --tlsverify.

The engine's certificate is for the address 127.0.0.1 only, signed by a
test CA; the client presents a certificate of the same CA.  A client that
trusts another CA, or reaches the engine under a name that its certificate
does not carry, must refuse the connection.
"""

import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID
from oslo_config import cfg
from oslo_config import fixture as cfg_fixture
import pytest
import requests

from novadocker import conf as docker_conf
from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import enginehost
from novadocker.virt.docker import exception
from novadocker.virt.docker.network import sandbox

DOCKERD_WAIT = 60


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject, key, issuer, issuer_key, ca=False, san=None, usage=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject))
               .issuer_name(_name(issuer))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                              critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san),
                                        critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(directory, name, key, cert):
    key_path = os.path.join(directory, name + '-key.pem')
    cert_path = os.path.join(directory, name + '.pem')
    with open(key_path, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_path, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def make_pki(directory):
    """CA, engine and client certificates; and a CA that signed none."""
    ca_key, other_key = _key(), _key()
    ca = _cert('novadocker test CA', ca_key, 'novadocker test CA', ca_key,
               ca=True)
    other = _cert('another CA', other_key, 'another CA', other_key, ca=True)
    server_key, client_key = _key(), _key()
    server = _cert('docker engine', server_key, 'novadocker test CA', ca_key,
                   san=[x509.IPAddress(ipaddress.ip_address('127.0.0.1'))],
                   usage=[ExtendedKeyUsageOID.SERVER_AUTH])
    client = _cert('nova-compute', client_key, 'novadocker test CA', ca_key,
                   usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    paths = {}
    paths['ca'], _ = _write(directory, 'ca', ca_key, ca)
    paths['other_ca'], _ = _write(directory, 'other-ca', other_key, other)
    paths['server'], paths['server_key'] = _write(directory, 'server',
                                                  server_key, server)
    paths['client'], paths['client_key'] = _write(directory, 'client',
                                                  client_key, client)
    return paths


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def tls_engine():
    """A dockerd of its own that only speaks verified TLS on TCP."""
    # Short: containerd's socket lives under the exec root.
    base = tempfile.mkdtemp(prefix='ndtls', dir='/tmp')
    pki = make_pki(base)
    port = _free_port()
    url = 'tcp://127.0.0.1:%d' % port
    log = open(os.path.join(base, 'dockerd.log'), 'w')
    proc = subprocess.Popen(
        ['dockerd', '--data-root', os.path.join(base, 'data'),
         '--exec-root', os.path.join(base, 'exec'),
         '--pidfile', os.path.join(base, 'pid'),
         '--bridge=none', '--iptables=false', '--ip-masq=false',
         '--tlsverify', '--tlscacert', pki['ca'],
         '--tlscert', pki['server'], '--tlskey', pki['server_key'],
         '-H', url],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_engine(url, pki, proc)
        yield url, pki
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        _remove(base)


def _wait_for_engine(url, pki, proc):
    deadline = time.monotonic() + DOCKERD_WAIT
    client = _client(url, ca_file=pki['ca'], cert_file=pki['client'],
                     key_file=pki['client_key'])
    while True:
        try:
            return client.version()
        except exception.DockerUnreachable:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _remove(base):
    # A stopped dockerd leaves no mounts; unmount whatever a killed one
    # left behind before removing its directory.
    with open('/proc/self/mounts') as f:
        mounts = [line.split()[1] for line in f]
    for mount in sorted((m for m in mounts if m.startswith(base + '/')),
                        reverse=True):
        subprocess.run(['umount', '-l', mount], check=False)
    shutil.rmtree(base, ignore_errors=True)


def _client(url, **docker_opts):
    """A client configured the way nova.conf configures it."""
    conf = cfg.ConfigOpts()
    docker_conf.register_opts(conf)
    conf([], default_config_files=[])
    fixture = cfg_fixture.Config(conf)
    fixture.setUp()
    try:
        fixture.config(group='docker', host_url=url, api_timeout=10,
                       **docker_opts)
        return docker_client.DockerClient.from_conf(conf)
    finally:
        fixture.cleanUp()


def _ssl_refused(error):
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, requests.exceptions.SSLError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def test_verified_tls_with_client_certificate(tls_engine):
    url, pki = tls_engine
    client = _client(url, ca_file=pki['ca'], cert_file=pki['client'],
                     key_file=pki['client_key'])
    assert client.version()['ApiVersion']
    assert client.info()['DockerRootDir']


def test_the_local_engine_over_tls_passes_the_same_host_check(tls_engine):
    url, pki = tls_engine
    client = _client(url, ca_file=pki['ca'], cert_file=pki['client'],
                     key_file=pki['client_key'])
    enginehost.check_local(client, sandbox.Sandboxes(client, 'nd-tls'),
                           client.info(), 'nd-tls')


def test_refuses_an_engine_signed_by_another_ca(tls_engine):
    url, pki = tls_engine
    client = _client(url, ca_file=pki['other_ca'], cert_file=pki['client'],
                     key_file=pki['client_key'])
    with pytest.raises(exception.DockerUnreachable) as e:
        client.version()
    assert _ssl_refused(e.value), e.value
    assert url in str(e.value)


def test_refuses_a_certificate_for_another_name(tls_engine):
    # The engine's certificate names 127.0.0.1, not "localhost".
    url, pki = tls_engine
    other_name = url.replace('127.0.0.1', 'localhost')
    client = _client(other_name, ca_file=pki['ca'], cert_file=pki['client'],
                     key_file=pki['client_key'])
    with pytest.raises(exception.DockerUnreachable) as e:
        client.version()
    assert _ssl_refused(e.value), e.value


def test_refuses_an_engine_with_no_ca_configured(tls_engine):
    # Without ca_file the system CAs are used; none of them signed it.
    url, pki = tls_engine
    client = _client(url, cert_file=pki['client'],
                     key_file=pki['client_key'])
    with pytest.raises(exception.DockerUnreachable) as e:
        client.version()
    assert _ssl_refused(e.value), e.value


def test_engine_refuses_a_client_without_certificate(tls_engine):
    url, pki = tls_engine
    client = _client(url, ca_file=pki['ca'])
    with pytest.raises(exception.DockerDriverException):
        client.version()


def test_api_insecure_skips_verification(tls_engine):
    url, pki = tls_engine
    client = _client(url, ca_file=pki['other_ca'], api_insecure=True,
                     cert_file=pki['client'], key_file=pki['client_key'])
    assert client.version()['ApiVersion']
