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

"""Every privileged entrypoint is one the driver calls: none is left
lying around for anything else that runs in nova-compute's process."""

import inspect
import pathlib
import re

from novadocker.privsep import linux_net
from novadocker.privsep import storage

PACKAGE = pathlib.Path(linux_net.__file__).parents[1]
MODULES = {'linux_net': linux_net, 'storage': storage}


def _entrypoints(module):
    return sorted(name for name, value in inspect.getmembers(module)
                  if getattr(value, 'privsep_entrypoint', None) is not None)


def _unprivileged_sources():
    privsep = PACKAGE / 'privsep'
    return '\n'.join(path.read_text() for path in PACKAGE.rglob('*.py')
                     if privsep not in path.parents)


def test_entrypoints_are_found():
    assert 'create_veth' in _entrypoints(linux_net)


def test_every_entrypoint_is_called_by_the_driver():
    sources = _unprivileged_sources()
    unused = ['%s.%s' % (module, name)
              for module, found in sorted(MODULES.items())
              for name in _entrypoints(found)
              if not re.search(r'\b%s\.%s\(' % (module, name), sources)]
    assert unused == []
