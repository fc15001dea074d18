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

SAMPLE = """\
# A hand-written nova.conf: comments and order must survive.
[DEFAULT]
# the driver
#compute_driver = <None>
debug = true

[libvirt]
virt_type = kvm ; not a comment in oslo files

[DEFAULT]
state_path = /var/lib/nova
"""


class GetTestCase(testtools.TestCase):
    def test_value_and_missing(self):
        self.assertEqual('true', ini.get(SAMPLE, 'DEFAULT', 'debug'))
        self.assertIsNone(ini.get(SAMPLE, 'DEFAULT', 'compute_driver'))
        self.assertIsNone(ini.get(SAMPLE, 'docker', 'host_url'))

    def test_repeated_section_and_last_value_wins(self):
        text = '[a]\nk = 1\n[b]\nk = 2\n[a]\nk = 3\n'
        self.assertEqual('3', ini.get(text, 'a', 'k'))
        self.assertEqual('2', ini.get(text, 'b', 'k'))

    def test_colon_separator_and_values_with_separators(self):
        text = '[docker]\nhost_url: unix:///run/docker.sock\nx=a=b\n'
        self.assertEqual('unix:///run/docker.sock',
                         ini.get(text, 'docker', 'host_url'))
        self.assertEqual('a=b', ini.get(text, 'docker', 'x'))

    def test_continuation_lines(self):
        text = '[a]\nk = one\n  two\nj = 3\n'
        self.assertEqual('one\ntwo', ini.get(text, 'a', 'k'))
        self.assertEqual('3', ini.get(text, 'a', 'j'))

    def test_entries_before_any_section_are_ignored(self):
        self.assertIsNone(ini.get('k = 1\n[a]\n', 'a', 'k'))


class SetValueTestCase(testtools.TestCase):
    def test_replaces_in_place(self):
        new = ini.set_value(SAMPLE, 'libvirt', 'virt_type', 'qemu')
        self.assertEqual(SAMPLE.replace(
            'virt_type = kvm ; not a comment in oslo files',
            'virt_type = qemu'), new)

    def test_unchanged_text_is_returned_as_is(self):
        text = '[a]\nk = v\n'
        self.assertIs(text, ini.set_value(text, 'a', 'k', 'v'))

    def test_inserts_under_commented_sample_default(self):
        new = ini.set_value(SAMPLE, 'DEFAULT', 'compute_driver', 'x.Y')
        self.assertIn('#compute_driver = <None>\ncompute_driver = x.Y\n'
                      'debug = true\n', new)
        self.assertEqual(1, new.count('compute_driver = x.Y'))

    def test_appends_to_last_block_of_section(self):
        new = ini.set_value(SAMPLE, 'DEFAULT', 'host', 'h1')
        self.assertTrue(new.endswith('state_path = /var/lib/nova\n'
                                     'host = h1\n'))
        self.assertEqual(SAMPLE, new.replace('host = h1\n', ''))

    def test_new_key_goes_before_trailing_comments_and_blanks(self):
        text = '[a]\nk = 1\n\n# about b\n[b]\n'
        self.assertEqual('[a]\nk = 1\nj = 2\n\n# about b\n[b]\n',
                         ini.set_value(text, 'a', 'j', '2'))

    def test_adds_missing_section_at_end(self):
        new = ini.set_value(SAMPLE, 'docker', 'host_url', 'unix:///s')
        self.assertEqual(SAMPLE + '\n[docker]\nhost_url = unix:///s\n', new)

    def test_empty_file_and_missing_final_newline(self):
        self.assertEqual('[a]\nk = v\n', ini.set_value('', 'a', 'k', 'v'))
        self.assertEqual('[a]\nj = 1\nk = v\n',
                         ini.set_value('[a]\nj = 1', 'a', 'k', 'v'))

    def test_later_duplicates_that_would_override_are_removed(self):
        text = '[a]\nk = 1\n[b]\nk = 9\n[a]\nk = 2\n  more\nz = 0\n'
        self.assertEqual('[a]\nk = 3\n[b]\nk = 9\n[a]\nz = 0\n',
                         ini.set_value(text, 'a', 'k', '3'))

    def test_commented_key_elsewhere_is_not_touched(self):
        text = '[a]\n#k = old\n[b]\n'
        self.assertEqual('[a]\n#k = old\n[b]\nk = new\n',
                         ini.set_value(text, 'b', 'k', 'new'))

    def test_crlf_files_stay_crlf(self):
        text = '[a]\r\nk = 1\r\n'
        self.assertEqual('[a]\r\nk = 1\r\nj = 2\r\n',
                         ini.set_value(text, 'a', 'j', '2'))

    def test_idempotent(self):
        once = ini.apply(SAMPLE, [('DEFAULT', 'compute_driver', 'x.Y'),
                                  ('docker', 'host_url', 'unix:///s')])
        self.assertEqual(once, ini.apply(
            once, [('DEFAULT', 'compute_driver', 'x.Y'),
                   ('docker', 'host_url', 'unix:///s')]))


class CommentOutTestCase(testtools.TestCase):
    def test_comments_every_active_line_with_a_note(self):
        text = '[DEFAULT]\nk = 1\n  cont\n[x]\nk = 5\n[DEFAULT]\nk = 2\n'
        self.assertEqual(
            '[DEFAULT]\n# moved\n#k = 1\n#  cont\n[x]\nk = 5\n'
            '[DEFAULT]\n#k = 2\n',
            ini.comment_out(text, 'DEFAULT', 'k', note='moved'))

    def test_missing_key_is_a_no_op(self):
        self.assertEqual(SAMPLE, ini.comment_out(SAMPLE, 'DEFAULT', 'nope'))
        self.assertIsNone(ini.get(
            ini.comment_out(SAMPLE, 'DEFAULT', 'debug'), 'DEFAULT', 'debug'))
