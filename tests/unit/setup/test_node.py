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

import testtools

from novadocker.setup import ini
from novadocker.setup import node


class NovaTestCase(testtools.TestCase):
    def test_sets_driver_and_docker_section(self):
        new = node.configure_nova('[DEFAULT]\ndebug = true\n')
        self.assertEqual(node.COMPUTE_DRIVER,
                         ini.get(new, 'DEFAULT', 'compute_driver'))
        self.assertEqual('unix:///var/run/docker.sock',
                         ini.get(new, 'docker', 'host_url'))
        self.assertEqual(new, node.configure_nova(new))

    def test_replaces_another_driver(self):
        new = node.configure_nova(
            '[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n')
        self.assertNotIn('libvirt', new)

    def test_extra_docker_options(self):
        opts = [node.parse_docker_option('pids_limit=100'),
                node.parse_docker_option('host_url = tcp://d:2376')]
        new = node.configure_nova('', opts)
        self.assertEqual('100', ini.get(new, 'docker', 'pids_limit'))
        self.assertEqual('tcp://d:2376', ini.get(new, 'docker', 'host_url'))

    def test_bad_docker_options(self):
        for spec in ('pids_limit', 'no_such_option=1', '=1'):
            self.assertRaises(node.SetupError, node.parse_docker_option,
                              spec)

    def test_known_options_come_from_conf(self):
        self.assertIn('host_url', node.docker_option_names())
        self.assertIn('api_insecure', node.docker_option_names())


class GlanceTestCase(testtools.TestCase):
    def test_unset_option_is_left_to_glance_default(self):
        text = '[DEFAULT]\nbind_port = 9292\n'
        self.assertIs(text, node.configure_glance(text))
        self.assertIn('docker', node.GLANCE_DEFAULT_FORMATS)

    def test_adds_docker_and_keeps_existing_formats(self):
        text = '[image_format]\ncontainer_formats = ami,ari, bare,ovf,ova\n'
        new = node.configure_glance(text)
        self.assertEqual('ami,ari,bare,ovf,ova,docker',
                         ini.get(new, 'image_format', 'container_formats'))
        self.assertEqual(new, node.configure_glance(new))

    def test_list_with_docker_is_unchanged(self):
        text = '[image_format]\ncontainer_formats = bare,docker\n'
        self.assertEqual(text, node.configure_glance(text))

    def test_deprecated_default_section_moves(self):
        text = '[DEFAULT]\ncontainer_formats = ami,ari,aki,bare,ovf\n'
        new = node.configure_glance(text)
        self.assertIsNone(ini.get(new, 'DEFAULT', 'container_formats'))
        self.assertEqual('ami,ari,aki,bare,ovf,docker',
                         ini.get(new, 'image_format', 'container_formats'))
        self.assertIn('#container_formats = ami,ari,aki,bare,ovf', new)
        self.assertEqual(new, node.configure_glance(new))

    def test_image_format_wins_over_deprecated_place(self):
        text = ('[DEFAULT]\ncontainer_formats = bare\n'
                '[image_format]\ncontainer_formats = ovf\n')
        new = node.configure_glance(text)
        self.assertEqual('ovf,docker',
                         ini.get(new, 'image_format', 'container_formats'))
        self.assertIsNone(ini.get(new, 'DEFAULT', 'container_formats'))


class HostMatchTestCase(testtools.TestCase):
    def test_patterns(self):
        self.assertTrue(node.host_matches(None, 'compute-1'))
        self.assertTrue(node.host_matches('docker', 'node-Docker-3'))
        self.assertFalse(node.host_matches('docker', 'compute-1'))
        self.assertTrue(node.host_matches(r'^cn-\d+$', 'cn-12'))
        self.assertFalse(node.host_matches(r'^cn-\d+$', 'cn-12.example'))

    def test_bad_pattern(self):
        self.assertRaises(node.SetupError, node.host_matches, '(', 'h')


class DiffTestCase(testtools.TestCase):
    def test_new_and_changed_files(self):
        self.assertIn('--- /dev/null\n+++ /x\n',
                      node.unified_diff('/x', None, 'a\n'))
        diff = node.unified_diff('/x', 'a\n', 'b\n')
        self.assertIn('-a\n+b\n', diff)
        self.assertEqual('', node.unified_diff('/x', 'a\n', 'a\n'))
