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

"""The driver's flavor extra specs and image properties, for nova-api.

Nova keeps its own validators in ``nova/api/validation/extra_specs/``;
ours live here, outside the virt package, so that nova-api loads them
without the driver (no Docker SDK, os-vif, pyroute2 or ``[docker]``
options): ``names`` holds the keys, ``validators`` the
``nova.api.extra_spec_validators`` entry point.
"""
