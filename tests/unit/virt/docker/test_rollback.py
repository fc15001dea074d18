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

"""rollback.Rollback: each registered undo once, newest first."""

from nova import test

from novadocker.virt.docker import rollback


class RollbackTestCase(test.NoDBTestCase):
    def test_nothing_undone_when_the_build_succeeds(self):
        undone = []
        with rollback.Rollback('inst') as undo:
            undo.add(undone.append, 'a')
        self.assertEqual([], undone)

    def test_failure_undoes_each_step_once_newest_first(self):
        undone = []

        def build():
            with rollback.Rollback('inst') as undo:
                undo.add(undone.append, 'files')
                undo.add(undone.append, 'network')
                raise ValueError('start failed')
        self.assertRaises(ValueError, build)
        self.assertEqual(['network', 'files'], undone)

    def test_a_failing_undo_is_logged_and_the_rest_still_runs(self):
        undone = []

        def broken():
            raise OSError('busy')

        def build():
            with rollback.Rollback('inst') as undo:
                undo.add(undone.append, 'files')
                undo.add(broken)
                raise ValueError('start failed')
        with self.assertLogs(rollback.LOG.logger, 'ERROR') as logs:
            # The build's own error is the one raised.
            self.assertRaises(ValueError, build)
        self.assertEqual(['files'], undone)
        self.assertIn('Could not undo', logs.output[0])
