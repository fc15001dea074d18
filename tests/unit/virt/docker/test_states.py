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

from nova.compute import power_state
from nova import test

from novadocker.virt.docker import states


class PowerStateTestCase(test.NoDBTestCase):
    def _check(self, expected, **state):
        self.assertEqual(expected, states.power_state_of(state))

    def test_running(self):
        self._check(power_state.RUNNING, Status='running', Running=True)

    def test_paused(self):
        self._check(power_state.PAUSED, Status='paused', Paused=True)
        self._check(power_state.PAUSED, Status='running', Paused=True)

    def test_created_is_shutdown(self):
        self._check(power_state.SHUTDOWN, Status='created')

    def test_clean_exit_and_stops_are_shutdown(self):
        for code in (0, 137, 143, 130):
            self._check(power_state.SHUTDOWN, Status='exited', ExitCode=code)

    def test_failure_and_oom_are_crashed(self):
        self._check(power_state.CRASHED, Status='exited', ExitCode=1)
        self._check(power_state.CRASHED, Status='exited', ExitCode=139)
        self._check(power_state.CRASHED, Status='exited', ExitCode=137,
                    OOMKilled=True)
        self._check(power_state.CRASHED, Status='dead')

    def test_unknown_is_nostate(self):
        self._check(power_state.NOSTATE, Status='weird')
