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

"""Hostile input through Nova's API and Glance (doc/reliability.rst).

Each case is a server booted through the REST API from a Glance image,
flavor, metadata, name, user data or key pair that a careless or hostile
user could send. It must end in a clear fault that aborts the build (no
reschedule) or in a clean boot, and once the servers are deleted nothing
of them is left on the host.  All cases share one set of services and
are judged together once every server has settled. The tarballs that
the image store refuses whatever Nova does around it are checked below
the API (tests/integration/test_hostile_images.py); two of them stay
here to show Nova's outcome.
"""

import base64
import collections
import hashlib
import os
import shutil
import tempfile
import time

import docker
from nova.tests.functional.api import client

from novadocker.virt.docker.image import store
from novadocker.virt.docker import keys
from tests.functional import base
from tests.functional import leftovers
from tests.functional import test_snapshot
from tests import hostile_tarballs as ht

IMAGE_REFUSED = 'is unacceptable'
INVALID = 'Invalid input received'
# A key pair nova imports, with a terminal escape and a form feed (a line
# separator for str.splitlines) in its comment.
KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9vZm5vdmFkb2NrZXJ0ZXN0a2V5MD'
       'AwMDAwMDAwMDAw')

#: One server to boot.  ``fault``: a text its fault must hold (None: it
#: must go ACTIVE); ``image``: Glance image keyword arguments
#: (create_docker_image); ``body``: more server create fields; ``specs``:
#: flavor extra specs; ``check(test, server)``: more checks when ACTIVE.
Case = collections.namedtuple('Case', 'fault image body specs check')


def case(fault=None, image=None, body=None, specs=None, check=None):
    return Case(fault, image or {}, body or {}, specs, check)


def _out(test, server, *cmd):
    return test_snapshot.docker_exec(
        test.docker, test.container(server)['Id'], *cmd)


class _HostileTestCase(base.DockerFunctionalTestCase):

    def configure(self, docker_url):
        super().configure(docker_url)
        self.instances_path = tempfile.mkdtemp(prefix='nd-hostile-')
        self.addCleanup(shutil.rmtree, self.instances_path, True)
        self.flags(instances_path=self.instances_path)
        self.flags(inject_key=True, group='docker')
        # All of a test's servers live until its end.
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.flags(cpu_allocation_ratio=64.0)

    def _image(self, spec):
        spec = dict(spec)
        data = spec.pop('data', None)
        if data is not None:
            spec.setdefault('name', 'hostile-data')
            return self.create_docker_image(data=data, **spec)['id']
        return self.create_docker_image(**spec)['id']

    def _post(self, name, c):
        flavor = self.flavor
        if c.specs:
            flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                         ephemeral=0, extra_spec=c.specs)
        body = self._build_server(name=name, image_uuid=self._image(c.image),
                                  flavor_id=flavor, networks='none')
        body.update(c.body)
        return self.api.post_server({'server': body})

    def _settled(self, server, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            found = self.api.get_server(server['id'])
            if found['status'] in ('ACTIVE', 'ERROR'):
                return found
            if time.monotonic() > deadline:
                self.fail('server %s is still %s' % (server['name'],
                                                     found['status']))
            time.sleep(0.3)

    def _judge(self, name, c, server):
        if c.fault is None:
            self.assertEqual('ACTIVE', server['status'], '%s: %s' % (
                name, server.get('fault')))
            if c.check:
                c.check(self, server)
            return
        self.assertEqual('ERROR', server['status'], name)
        message = server['fault']['message']
        self.assertIn(c.fault, message, name)
        # Aborted here: a reschedule ends in one of these instead.
        self.assertNotIn('Exceeded maximum number of retries', message)
        self.assertNotIn('No valid host', message)
        self.assertIsNone(self.container(server), name)

    def run_cases(self, cases):
        self.flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1,
                                          ephemeral=0)
        posted = {name: self._post(name, c) for name, c in cases.items()}
        settled = {name: self._settled(s) for name, s in posted.items()}
        failures = []
        for name, c in sorted(cases.items()):
            try:
                self._judge(name, c, settled[name])
            except AssertionError as e:
                failures.append('%s: %s' % (name, e))
        for server in settled.values():
            self.api.delete_server(server['id'])
        for server in settled.values():
            self._wait_until_deleted(server)
        image_ids = [i for i in self.glance.images]
        self._forget_cached(image_ids)
        self.assertEqual([], leftovers.of_host(
            self.docker, self.host, self.instances_path,
            server_ids=[s['id'] for s in settled.values()],
            image_ids=image_ids))
        self.assertEqual([], failures)
        return settled

    def _forget_cached(self, image_ids):
        """Accepted images stay cached until the image cache prunes them
        (tested elsewhere); faulted ones must never have been tagged.
        """
        for image_id in image_ids:
            try:
                self.docker.remove_image(store.image_ref(image_id))
            except docker.errors.NotFound:
                pass


def _probe_file():
    fd, path = tempfile.mkstemp(prefix='nd-probe-')
    os.write(fd, b'host-secret')
    os.close(fd)
    return path


class HostileInputTest(_HostileTestCase):
    """Every case with one set of services."""

    def test_hostile_input(self):
        self._api_refusals()
        cases = self._image_cases()
        cases.update(self._request_cases())
        self.run_cases(cases)
        self.assertEqual([], os.listdir(self.probe_dir))
        with open(self.probe) as f:
            self.assertEqual('host-secret', f.read())

    def _image_cases(self):
        """Image properties and tarballs, through Glance (the tarballs the
        image store refuses whatever Nova does around it are in
        tests/integration/test_hostile_images.py).
        """
        self.probe = probe = _probe_file()
        self.addCleanup(os.unlink, probe)
        self.probe_dir = tempfile.mkdtemp(prefix='nd-probe-dir-')
        self.addCleanup(os.rmdir, self.probe_dir)

        def no_host_file(test, server):
            code, out = _out(test, server, 'cat', '/escape-abs')
            test.assertNotIn('host-secret', out)

        def nodes_unusable(test, server):
            for node in ('/mem', '/sda'):
                code, _ = _out(test, server, 'head', '-c', '1', node)
                test.assertNotEqual(0, code, node)

        def bomb_unpacked(test, server):
            test.assertEqual((0, '%d\n' % (16 << 20)),
                             _out(test, server, 'sh', '-c', 'wc -c </zeros'))

        return {
            'cmd-nul': case(IMAGE_REFUSED,
                            {'command': 'sh -c "sleep 1\x00; id"'}),
            'cmd-1mib': case(IMAGE_REFUSED,
                             {'command': 'sleep ' + '1 ' * (1 << 19)}),
            'cmd-quote': case(IMAGE_REFUSED, {'command': 'sh -c "sleep 9'}),
            # Glance's JSON carries text only: bytes that were not UTF-8
            # arrive as their Latin-1 characters.
            'cmd-not-utf8': case(None, {
                'command': 'sh -c "sleep 100000" \xff\xfe\x80'}),
            'cmd-control': case(None, {
                'command': 'sh -c "sleep 100000 # \x1b[2J\x07"'}),
            'unknown-docker-prop': case(None, {'docker_no_such_knob': 'x',
                                               'docker_': ''}),
            'prop-pids-text': case(IMAGE_REFUSED,
                                   {'docker_pids_limit': 'many'}),
            'prop-pids-negative': case(IMAGE_REFUSED,
                                       {'docker_pids_limit': '-1'}),
            'prop-bool-nul': case(IMAGE_REFUSED,
                                  {'docker_read_only_root': 'true\x00'}),
            'prop-cap-bad': case(IMAGE_REFUSED,
                                 {'docker_cap_drop': 'NET_RAW,\x00ALL'}),
            'tar-truncated': case(IMAGE_REFUSED, {'data': ht.truncated()}),
            'layer-dotdot': case(IMAGE_REFUSED, {
                'data': ht.layer_member('../../../nd-escape')}),
            # An absolute symlink resolves inside the container; a relative
            # one climbing out of the layer is refused.
            'layer-symlink-out-abs': case(None, {
                'data': ht.symlink_out(probe)}, check=no_host_file),
            'layer-device-nodes': case(None, {'data': ht.device_nodes()},
                                       check=nodes_unusable),
            'layer-setuid': case(None, {'data': ht.setuid_file()}),
            'layer-1000x': case(None, {
                'data': ht.decompression_bomb(16 << 20)},
                check=bomb_unpacked),
            # The driver writes the manifest it loads itself.
            'tar-duplicate-manifest': case(None, {
                'data': ht.duplicate_manifest()}),
        }

    def _request_cases(self):
        """Metadata, names, user data, key pairs and flavors, through the
        REST API.
        """
        colliding = {'app.mode': 'dot', 'app-mode': 'dash',
                     'app mode': 'space', 'app:mode': 'colon',
                     'app_mode': 'underscore'}
        largest = {('k%03d' % i) + 'x' * 251: 'v' * 255 for i in range(128)}
        user_data = os.urandom(49149)   # 65532 characters in base64

        def env_has(name, value):
            def check(test, server):
                code, out = _out(test, server, 'env')
                test.assertIn('%s=%s\n' % (name, value), out)
            return check

        def hostname_ok(test, server):
            code, out = _out(test, server, 'hostname')
            name = out.strip()
            test.assertTrue(0 < len(name) <= 63, name)
            test.assertTrue(name.isascii(), name)

        def user_data_ok(test, server):
            code, out = _out(test, server, 'md5sum',
                             '/config-drive/openstack/latest/user_data')
            test.assertEqual(hashlib.md5(user_data).hexdigest(),
                             out.split()[0])

        def one_key_line(test, server):
            code, out = _out(test, server, 'cat', keys.TARGET)
            test.assertEqual(1, len(out.splitlines()), out)

        self.api.post_keypair({'keypair': {
            'name': 'ctl', 'public_key': KEY + ' me\x1b[2J\x0cssh-rsa AAAA'}})
        self.api.post_keypair({'keypair': {'name': 'plain',
                                           'public_key': KEY + ' me'}})
        return {
            'meta-nul-value': case(INVALID,
                                   body={'metadata': {'k': 'a\x00b'}}),
            'meta-colliding': case(None, body={'metadata': colliding},
                                   check=env_has('app_mode', 'space')),
            'meta-largest': case(None, body={'metadata': largest},
                                 check=env_has('k127' + 'x' * 251,
                                               'v' * 255)),
            'meta-newlines': case(None, body={'metadata': {
                'multi': 'a\nB=c\x1b[0m'}}),
            'meta-digit-key': case(None, body={'metadata': {'1st': 'x'}},
                                   check=env_has('_1st', 'x')),
            'name-long': case(None, body={'name': 'n' * 255},
                              check=hostname_ok),
            'name-unicode': case(None, body={'name': 'сервер-名前-ü\u00e9'},
                                 check=hostname_ok),
            'name-only-symbols': case(None, body={'name': '!!!...---'},
                                      check=hostname_ok),
            'user-data-largest': case(None, body={
                'user_data': base64.b64encode(user_data).decode()},
                check=user_data_ok),
            'key-control-chars': case(INVALID, body={'key_name': 'ctl'}),
            'key-plain': case(None, body={'key_name': 'plain'},
                              check=one_key_line),
            'spec-wrong-type': case(INVALID,
                                    specs={'quota:cpu_quota': 'lots'}),
            'spec-out-of-range': case(INVALID,
                                      specs={'quota:cpu_shares': '1'}),
            'spec-huge-int': case(INVALID, specs={
                'docker:pids_limit': '9' * 40}),
            'spec-bool-bad': case(INVALID,
                                  specs={'docker:read_only_root': 'perhaps'}),
            'spec-conflicting-caps': case(INVALID, specs={
                'docker:cap_add': 'NET_ADMIN',
                'docker:cap_drop': 'NET_ADMIN'}),
            'spec-quota-without-period-ok': case(None, specs={
                'quota:cpu_quota': '50000'}),
        }

    def _api_refusals(self):
        """Beyond Nova's own bounds the API answers 400, before any host."""
        flavor = self.create_flavor()
        image = self.create_docker_image()['id']
        for extra in ({'metadata': {'k': 'v' * 256}},
                      {'metadata': {'bad/key': 'v'}},
                      {'user_data': 'A' * 65536 + '=='},
                      {'name': 'n' * 256},
                      {'name': 'zero\u200dwidth'}):
            body = self._build_server(image_uuid=image, flavor_id=flavor,
                                      networks='none')
            body.update(extra)
            e = self.assertRaises(client.OpenStackApiException,
                                  self.api.post_server, {'server': body})
            self.assertEqual(400, e.response.status_code, extra)
        self.api.microversion = '2.86'
        for key, value in (('docker:pids_limit', '-3'),
                           ('docker:read_only_root', 'perhaps'),
                           ('quota:cpu_period', 'often')):
            e = self.assertRaises(
                client.OpenStackApiException, self.api.post_extra_spec,
                flavor, {'extra_specs': {key: value}})
            self.assertEqual(400, e.response.status_code, key)
        self.api.microversion = self.microversion
        self.assertEqual([], leftovers.of_host(
            self.docker, self.host, self.instances_path))
