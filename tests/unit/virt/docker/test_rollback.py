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

from novadocker.virt.docker import exception
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

    def _unreachable_once(self, undone, name):
        calls = []

        def step():
            calls.append(name)
            if len(calls) == 1:
                raise exception.DockerUnreachable(url='unix:///x',
                                                  reason='refused')
            undone.append(name)
        return step

    def test_an_engine_that_died_is_waited_for_once_then_undone(self):
        undone, waits = [], []

        def engine_back():
            waits.append(1)
            return True

        def build():
            with rollback.Rollback('inst', engine_back) as undo:
                undo.add(self._unreachable_once(undone, 'network'))
                undo.add(self._unreachable_once(undone, 'container'))
                raise exception.DockerUnreachable(url='unix:///x',
                                                  reason='killed')
        self.assertRaises(exception.DockerUnreachable, build)
        self.assertEqual(['container', 'network'], undone)
        self.assertEqual([1], waits)

    def test_an_engine_that_stays_away_is_waited_for_once(self):
        undone, waits = [], []

        def build():
            with rollback.Rollback('inst', lambda: waits.append(1)) as undo:
                undo.add(undone.append, 'files')
                undo.add(self._unreachable_once(undone, 'network'))
                undo.add(self._unreachable_once(undone, 'container'))
                raise ValueError('start failed')
        with self.assertLogs(rollback.LOG.logger, 'ERROR') as logs:
            self.assertRaises(ValueError, build)
        self.assertEqual(['files'], undone)
        self.assertEqual([1], waits)
        self.assertEqual(2, len(logs.output))
        self.assertIn('does not answer', logs.output[0])
