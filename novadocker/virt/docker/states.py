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

"""Docker container states as Nova power states."""

import signal

from nova.compute import power_state
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# A process that ends on one of these signals was stopped, not crashed:
# that is how ``docker stop`` and ``docker kill`` end a container.
_STOP_EXIT_CODES = frozenset(
    [0] + [128 + s for s in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT)])

_BY_STATUS = {
    'created': power_state.SHUTDOWN,
    'running': power_state.RUNNING,
    'restarting': power_state.RUNNING,
    'paused': power_state.PAUSED,
    'removing': power_state.SHUTDOWN,
    'dead': power_state.CRASHED,
}


def power_state_of(state):
    """Map ``inspect_container()['State']`` to a Nova power state.

    An exited container is SHUTDOWN when its process exited with 0 or was
    ended by SIGTERM, SIGKILL or SIGINT (a stop), and CRASHED after any other
    exit code or an out-of-memory kill.  An unknown status is logged and
    reported as NOSTATE.
    """
    status = state.get('Status')
    if status == 'exited':
        if (state.get('OOMKilled') or
                state.get('ExitCode', 0) not in _STOP_EXIT_CODES):
            return power_state.CRASHED
        return power_state.SHUTDOWN
    if status not in _BY_STATUS:
        LOG.warning('Unknown Docker container status %r', status)
        return power_state.NOSTATE
    if status == 'running' and state.get('Paused'):
        return power_state.PAUSED
    return _BY_STATUS[status]
