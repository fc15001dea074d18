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

import base64
import json
import os
from unittest import mock

import fixtures
from nova import exception as nova_exception
from nova import test

from novadocker.virt.docker import exception
from novadocker.virt.docker.image import registry

DIGEST = 'sha256:' + 'ab' * 32
REF = 'reg.example:5000/team/app@' + DIGEST
LOCAL = 'nova-image:img1'


class ParseTestCase(test.NoDBTestCase):
    def test_digest(self):
        ref = registry.parse('img1', REF, False)
        self.assertEqual(('reg.example:5000', 'reg.example:5000/team/app',
                          None, DIGEST), tuple(ref))
        self.assertEqual(REF, ref.pinned)
        self.assertEqual(DIGEST, ref.version)

    def test_tags_only_when_allowed(self):
        self.assertRaises(nova_exception.ImageUnacceptable, registry.parse,
                          'img1', 'reg.example/app:v1', False)
        ref = registry.parse('img1', 'reg.example/app:v1', True)
        self.assertEqual(('reg.example/app:v1', 'v1'),
                         (ref.pinned, ref.version))

    def test_must_name_a_registry(self):
        for value in ('team/app@' + DIGEST, 'app@' + DIGEST, '',
                      'reg.example/App@' + DIGEST,
                      'reg.example/app@sha256:short', 'a b/c'):
            self.assertRaises(nova_exception.ImageUnacceptable,
                              registry.parse, 'img1', value, True)
        self.assertEqual('localhost', registry.parse(
            'img1', 'localhost/app@' + DIGEST, False).registry)


class CredentialsTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def _file(self, auths, name='config.json'):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            json.dump({'auths': auths}, f)
        return path

    def test_auth_entry(self):
        token = base64.b64encode(b'user:pa:ss').decode()
        path = self._file({'reg.example:5000': {'auth': token}})
        self.assertEqual({'username': 'user', 'password': 'pa:ss',
                          'serveraddress': 'reg.example:5000'},
                         registry.credentials(path, 'reg.example:5000'))

    def test_url_keys_and_token(self):
        path = self._file({'https://reg.example': {'identitytoken': 't'}})
        self.assertEqual({'identitytoken': 't',
                          'serveraddress': 'reg.example'},
                         registry.credentials(path, 'reg.example'))

    def test_anonymous(self):
        self.assertIsNone(registry.credentials(None, 'reg.example'))
        self.assertIsNone(registry.credentials(self._file({}),
                                               'reg.example'))

    def test_unreadable_file(self):
        self.assertRaises(exception.DockerDriverException,
                          registry.credentials,
                          os.path.join(self.dir, 'missing'), 'reg.example')


class PullTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.client = mock.Mock()
        self.client.inspect_image.return_value = {
            'Id': 'sha256:img', 'RepoDigests': [REF]}
        self.opts = mock.Mock(registry_auth_file=None,
                              registry_allow_tags=False)
        self.registry = registry.Registry(self.client, self.opts)

    def _pull(self, meta=None):
        meta = meta or {'size': 0, 'properties': {
            registry.PROPERTY: REF}}
        return self.registry.pull('img1', meta, LOCAL)

    def test_pull_tag_and_forget_the_pulled_name(self):
        self.assertEqual(LOCAL, self._pull())
        self.client.pull.assert_called_once_with(
            'reg.example:5000/team/app', DIGEST, None)
        self.client.tag.assert_called_once_with('sha256:img', 'nova-image',
                                                'img1')
        self.client.remove_image.assert_called_once_with(REF)

    def test_failed_pull_is_unacceptable_and_leaves_nothing(self):
        self.client.pull.side_effect = exception.DockerServerError(
            what='pull', reason='unauthorized: authentication required')
        e = self.assertRaises(nova_exception.ImageUnacceptable, self._pull)
        self.assertIn('unauthorized: authentication required', str(e))
        self.client.tag.assert_not_called()
        self.client.remove_image.assert_called_once_with(REF)

    def test_digest_not_held_is_refused(self):
        self.client.inspect_image.return_value = {
            'Id': 'sha256:img', 'RepoDigests': ['other@' + DIGEST]}
        self.assertRaises(nova_exception.ImageUnacceptable, self._pull)
        self.client.tag.assert_not_called()
        self.client.remove_image.assert_called_once_with(REF)

    def test_options_are_read_at_each_pull(self):
        tagged = {'properties': {registry.PROPERTY: 'reg.example/a:1'}}
        self.client.inspect_image.return_value = {'Id': 'sha256:img'}
        self.assertRaises(nova_exception.ImageUnacceptable, self._pull,
                          tagged)
        self.opts.registry_allow_tags = True
        self.assertEqual(LOCAL, self._pull(tagged))
        self.client.pull.assert_called_once_with('reg.example/a', '1', None)

    def test_without_options_digests_only_and_anonymous(self):
        self.registry = registry.Registry(self.client)
        self.assertEqual(LOCAL, self._pull())
        self.client.pull.assert_called_once_with(
            'reg.example:5000/team/app', DIGEST, None)

    def test_refused_before_the_engine(self):
        for meta in ({'size': 10, 'properties': {registry.PROPERTY: REF}},
                     {'properties': {registry.PROPERTY: 'reg.example/a:1'}}):
            self.assertRaises(nova_exception.ImageUnacceptable, self._pull,
                              meta)
        self.client.pull.assert_not_called()
