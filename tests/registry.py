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

"""A private registry for the tests: Debian's ``docker-registry`` on
the loopback interface, with TLS from a CA made for the test and basic
auth (an htpasswd file with bcrypt), started and stopped by
:class:`Registry`.

dockerd treats every registry in 127.0.0.0/8 as insecure (it then skips
certificate checks), so the registry listens on an address of its own from
198.18.0.0/15 (the benchmarking range) added to ``lo`` for the test: the
engine verifies its certificate as it would a real registry's. The engine
trusts the CA through ``/etc/docker/certs.d/<address>:<port>/ca.crt``, the
directory every dockerd reads for a registry's certificates at each pull;
both are removed with the registry.
"""

import base64
import json
import os
import random
import secrets
import shutil
import socket
import ssl
import subprocess
import time

import fixtures

REGISTRY = '/usr/bin/docker-registry'
HTPASSWD = '/usr/bin/htpasswd'
CERTS_D = '/etc/docker/certs.d'
USER = 'novadocker'
START_WAIT = 30

CONFIG = '''version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}/data
http:
  addr: {address}
  tls:
    certificate: {root}/server.crt
    key: {root}/server.key
auth:
  htpasswd:
    realm: novadocker-test
    path: {root}/htpasswd
'''


def free_port(ip='127.0.0.1'):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


class LoopbackAddress(fixtures.Fixture):
    """A /32 from 198.18.0.0/15 on ``lo``, removed at the end."""

    def _setUp(self):
        for _attempt in range(20):
            ip = '198.%d.%d.%d' % (random.choice((18, 19)),
                                   random.randint(0, 255),
                                   random.randint(1, 254))
            added = subprocess.run(('ip', 'addr', 'add', ip + '/32', 'dev',
                                    'lo'), capture_output=True)
            if added.returncode == 0:
                self.addCleanup(subprocess.run, ('ip', 'addr', 'del',
                                                 ip + '/32', 'dev', 'lo'),
                                capture_output=True)
                self.ip = ip
                return
        raise RuntimeError('no free address for the registry: %s'
                           % added.stderr.decode())


def _run(*cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, **kwargs)


def make_certificates(root, ip='127.0.0.1'):
    """A CA (``ca.crt``) and a server certificate for ``ip`` it signed."""
    ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
          '-nodes')
    ca_key, ca = os.path.join(root, 'ca.key'), os.path.join(root, 'ca.crt')
    _run('openssl', 'req', '-x509', *ec, '-keyout', ca_key, '-out', ca,
         '-days', '1', '-subj', '/CN=novadocker test CA',
         '-addext', 'basicConstraints=critical,CA:TRUE',
         '-addext', 'keyUsage=critical,keyCertSign')
    csr = os.path.join(root, 'server.csr')
    _run('openssl', 'req', '-new', *ec, '-keyout',
         os.path.join(root, 'server.key'), '-out', csr, '-subj', '/CN=' + ip)
    ext = os.path.join(root, 'server.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' % ip)
    _run('openssl', 'x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca_key,
         '-CAcreateserial', '-days', '1', '-extfile', ext,
         '-out', os.path.join(root, 'server.crt'))
    return ca


class Registry(fixtures.Fixture):
    """``address``, ``user``, ``password``, ``ca``, ``auth_file`` (a
    Docker client config.json holding the credentials) and ``root`` (the
    storage, for tests that tamper with it).
    """

    def _setUp(self):
        for tool in (REGISTRY, HTPASSWD):
            if not os.path.exists(tool):
                raise RuntimeError('%s is missing: run tools/setup-host.sh'
                                   % tool)
        self.root = self.useFixture(fixtures.TempDir()).path
        self.ip = self.useFixture(LoopbackAddress()).ip
        self.address = '%s:%d' % (self.ip, free_port(self.ip))
        self.user, self.password = USER, secrets.token_urlsafe(12)
        self.ca = make_certificates(self.root, self.ip)
        with open(os.path.join(self.root, 'htpasswd'), 'wb') as f:
            f.write(_run(HTPASSWD, '-niB', self.user,
                         input=self.password.encode()).stdout)
        self.auth_file = self.write_auth_file(self.password)
        self._trust()
        self._start()

    def write_auth_file(self, password, name='config.json'):
        path = os.path.join(self.root, name)
        token = base64.b64encode(
            ('%s:%s' % (self.user, password)).encode()).decode()
        with open(path, 'w') as f:
            json.dump({'auths': {self.address: {'auth': token}}}, f)
        return path

    def _trust(self):
        self.certs = os.path.join(CERTS_D, self.address)
        os.makedirs(self.certs)
        self.addCleanup(shutil.rmtree, self.certs, True)
        shutil.copy(self.ca, os.path.join(self.certs, 'ca.crt'))

    def _start(self):
        config = os.path.join(self.root, 'config.yml')
        with open(config, 'w') as f:
            f.write(CONFIG.format(root=self.root, address=self.address))
        log = open(os.path.join(self.root, 'registry.log'), 'wb')
        self.addCleanup(log.close)
        proc = subprocess.Popen([REGISTRY, 'serve', config], stdout=log,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(self._stop, proc)
        deadline = time.monotonic() + START_WAIT
        while True:
            if self._status() == 401:
                return
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(os.path.join(self.root, 'registry.log')) as f:
                    raise RuntimeError('docker-registry did not start: %s'
                                       % f.read()[-2000:])
            time.sleep(0.1)

    def _status(self):
        """The HTTP status of ``GET /v2/`` over verified TLS, or None.

        (Plain sockets: nova's test fixtures replace the HTTP clients'
        connection classes.)
        """
        host, port = self.address.split(':')
        context = ssl.create_default_context(cafile=self.ca)
        try:
            with socket.create_connection((host, int(port)), 2) as raw:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    tls.sendall(b'GET /v2/ HTTP/1.0\r\nHost: %s\r\n\r\n'
                                % self.address.encode())
                    line = tls.recv(64).split(b'\r\n', 1)[0].split()
                    return int(line[1]) if len(line) > 1 else None
        except OSError:
            return None

    @staticmethod
    def _stop(proc):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def auth_config(self):
        return {'username': self.user, 'password': self.password,
                'serveraddress': self.address}

    def push(self, api, image, repository, tag):
        """Push the local ``image`` as ``<address>/<repository>:<tag>``
        through the engine; returns ``<address>/<repository>@<digest>``
        and removes the pushed name from the engine again.
        """
        remote = '%s/%s' % (self.address, repository)
        api.tag(image, remote, tag)
        digest = None
        try:
            for line in api.push(remote, tag=tag, stream=True, decode=True,
                                 auth_config=self.auth_config()):
                if line.get('error'):
                    raise RuntimeError('push failed: %s' % line['error'])
                digest = (line.get('aux') or {}).get('Digest', digest)
        finally:
            api.remove_image('%s:%s' % (remote, tag))
        if not digest:
            raise RuntimeError('the engine reported no digest for the push')
        return '%s@%s' % (remote, digest)

    def blob_path(self, digest):
        algo, hexa = digest.split(':')
        return os.path.join(self.root, 'data', 'docker', 'registry', 'v2',
                            'blobs', algo, hexa[:2], hexa, 'data')
