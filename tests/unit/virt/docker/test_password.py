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

from unittest import mock

from nova import exception
from nova import test

from novadocker.virt.docker import password


def _containers(running=True, paused=False):
    containers = mock.Mock()
    containers.inspect.return_value = {
        'Id': 'c1', 'State': {'Running': running, 'Paused': paused}}
    return containers


class PasswordTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.instance = mock.Mock(uuid='u1')
        self.client = mock.Mock()

    def _set(self, code, containers=None, pw='p$(x) :"y'):
        self.client.exec_with_input.return_value = (code, b'')
        password.set_password(self.client, containers or _containers(),
                              self.instance, pw)

    def test_password_goes_on_stdin_only(self):
        self._set(0)
        ref, command, data, _timeout = \
            self.client.exec_with_input.call_args[0]
        self.assertEqual(('c1', ['chpasswd']), (ref, command))
        self.assertEqual(b'root:p$(x) :"y\n', data)

    def test_no_chpasswd_is_not_supported(self):
        for code in (126, 127):
            self.assertRaises(exception.SetAdminPasswdNotSupported,
                              self._set, code)

    def test_failure_and_timeout(self):
        for code in (1, None):
            self.assertRaises(exception.InstancePasswordSetFailed,
                              self._set, code)

    def test_not_running(self):
        for containers in (_containers(running=False),
                           _containers(paused=True)):
            self.assertRaises(exception.InstancePasswordSetFailed,
                              self._set, 0, containers)
        self.client.exec_with_input.assert_not_called()

    def test_line_break_refused_before_docker(self):
        self.assertRaises(exception.InvalidInput, self._set, 0,
                          pw='a\nroot:b')
        self.client.exec_with_input.assert_not_called()
