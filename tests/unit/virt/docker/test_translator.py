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

from nova import context
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit import fake_instance

from novadocker.virt.docker import labels
from novadocker.virt.docker import translator

IMAGE_ID = 'f0e1d2c3-0000-4000-8000-000000000001'


def _image(**props):
    return objects.ImageMeta.from_dict({
        'id': IMAGE_ID, 'name': 'busybox', 'container_format': 'docker',
        'disk_format': 'raw', 'properties': props})


class TranslatorTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.instance = fake_instance.fake_instance_obj(
            context.get_admin_context(), hostname='web-1')
        self.instance.metadata = {'role': 'web', 'app.mode': 'x', '1st': 'y'}
        self.instance.flavor.memory_mb = 512
        self.instance.flavor.vcpus = 2

    def test_container_args(self):
        args = translator.container_args(
            self.instance, 'nova-image:' + IMAGE_ID,
            _image(os_command_line="sh -c 'echo a b'"), 'cmp1', 100, 4)
        self.assertEqual('nova-%s' % self.instance.uuid, args['name'])
        self.assertEqual('web-1', args['hostname'])
        self.assertEqual(['sh', '-c', 'echo a b'], args['command'])
        self.assertEqual(['_1st=y', 'app_mode=x', 'role=web'],
                         args['environment'])
        self.assertEqual({
            labels.LABEL_MANAGED_BY: 'novadocker',
            labels.LABEL_HOST: 'cmp1',
            labels.LABEL_UUID: self.instance.uuid,
            labels.LABEL_NAME: self.instance.name,
        }, args['labels'])

    def test_host_config_limits_and_security(self):
        host = translator.host_config(self.instance.flavor, 100, 4)
        self.assertEqual(512 * 1024 * 1024, host['mem_limit'])
        self.assertEqual(host['mem_limit'], host['memswap_limit'])
        self.assertEqual(2 * 10 ** 9, host['nano_cpus'])
        self.assertEqual(2048, host['cpu_shares'])
        self.assertEqual(100, host['pids_limit'])
        self.assertEqual('none', host['network_mode'])
        self.assertFalse(host['privileged'])
        self.assertEqual(['no-new-privileges:true'], host['security_opt'])

    def test_cpu_limit(self):
        self.assertEqual(2, translator.cpu_limit(4, 2))
        self.assertEqual(3, translator.cpu_limit(3, 8))
        self.assertEqual(1, translator.cpu_limit(1, 0))

    def test_more_vcpus_than_the_engine_has(self):
        # Nova overcommits CPU: the container may use every CPU there is,
        # and keeps its full weight against other containers.
        self.instance.flavor.vcpus = 5
        host = translator.host_config(self.instance.flavor, 100, 2)
        self.assertEqual(2 * 10 ** 9, host['nano_cpus'])
        self.assertEqual(5 * 1024, host['cpu_shares'])
        self.instance.flavor.vcpus = 1000
        host = translator.host_config(self.instance.flavor, 100, 2)
        self.assertEqual(262144, host['cpu_shares'])

    def test_no_command(self):
        self.assertIsNone(translator.command(_image()))

    def test_bad_command_line(self):
        self.assertRaises(exception.ImageUnacceptable, translator.command,
                          _image(os_command_line="sh -c 'unterminated"))

    def test_command_line_with_nul_or_too_long(self):
        for line in ('sleep 1\x00; id',
                     'sleep ' + '1 ' * translator.COMMAND_LINE_MAX):
            self.assertRaises(exception.ImageUnacceptable, translator.command,
                              _image(os_command_line=line))
        line = 'echo ' + 'x' * (translator.COMMAND_LINE_MAX - 5)
        self.assertEqual(2, len(translator.command(
            _image(os_command_line=line))))

    def test_environment_refuses_nul(self):
        self.assertRaisesRegex(exception.InvalidInput, "'k'",
                               translator.environment, {'k': 'a\x00b'})
        self.assertEqual(['k=a\nb\x1b'],
                         translator.environment({'k': 'a\nb\x1b'}))

    def test_env_name(self):
        self.assertEqual('A_B_C', translator.env_name('A-B.C'))
        self.assertEqual('_9lives', translator.env_name('9lives'))
        self.assertEqual('_', translator.env_name(''))
        self.assertEqual('ok_1', translator.env_name('ok_1'))

    def test_environment_collision_first_sorted_key_wins(self):
        self.assertEqual(['a_b=dash'],
                         translator.environment({'a.b': 'dot',
                                                 'a-b': 'dash'}))

    def test_hostname_is_an_ascii_label(self):
        for given, wanted in (('üé-x', 'ue-x'), ('a.b_c d', 'abcd'),
                              ('-名前-', self.instance.name),
                              ('-a' * 40, ('-a' * 40)[:63].strip('-'))):
            self.instance.hostname = given
            self.assertEqual(wanted, translator.hostname(self.instance),
                             given)

    def test_hostname_falls_back_to_name_and_is_cut(self):
        self.instance.hostname = None
        args = translator.container_args(self.instance, 'x', _image(),
                                         'h', 1, 4)
        self.assertEqual(self.instance.name, args['hostname'])
        self.instance.hostname = 'h' * 80
        args = translator.container_args(self.instance, 'x', _image(),
                                         'h', 1, 4)
        self.assertEqual(63, len(args['hostname']))


class WithMountsTestCase(test.NoDBTestCase):
    def test_read_only_binds_added_to_existing(self):
        args = {'name': 'n', 'host_config': {'mounts': [{'Target': '/a'}]}}
        out = translator.with_mounts(args, {'/config-drive': '/h/cd',
                                            '/root/.ssh/authorized_keys':
                                            '/h/k'})
        self.assertEqual([
            {'Target': '/a'},
            {'Type': 'bind', 'Source': '/h/cd', 'Target': '/config-drive',
             'ReadOnly': True},
            {'Type': 'bind', 'Source': '/h/k',
             'Target': '/root/.ssh/authorized_keys', 'ReadOnly': True},
        ], out['host_config']['mounts'])
        # The input is left alone.
        self.assertEqual([{'Target': '/a'}], args['host_config']['mounts'])

    def test_no_mounts_no_change(self):
        args = {'host_config': {}}
        self.assertEqual([], translator.with_mounts(args, {})[
            'host_config']['mounts'])
