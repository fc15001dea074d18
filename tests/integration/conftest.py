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

"""Fixtures shared by the integration tests."""

# The networking tests' fixtures (real privsep daemon, OVS bridges, booted
# instances); see network_support.py.
from tests.integration.network_support import booted  # noqa: F401
from tests.integration.network_support import bridge  # noqa: F401
from tests.integration.network_support import env  # noqa: F401
# The volume tests' fixtures (real privsep daemons, loop devices); see
# volume_support.py.
from tests.integration.volume_support import private_engine  # noqa: F401
from tests.integration.volume_support import servers  # noqa: F401
from tests.integration.volume_support import vol_env  # noqa: F401
