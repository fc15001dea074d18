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

"""Let ``nova.virt.novadocker.*`` name the same modules as ``novadocker.*``.

Nova imports the driver as ``nova.virt.<compute_driver>``.  The installed
shim ``nova/virt/novadocker/__init__.py`` calls :func:`install`, which
replaces itself in ``sys.modules`` by the real package and puts a finder in
front of the import system that answers every ``nova.virt.novadocker.X``
with the already imported ``novadocker.X``.  Each module therefore runs once,
whichever name imported it first, and config options register once.
"""

import importlib
import importlib.abc
import importlib.util
import sys


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, alias, target):
        self.alias = alias
        self.target = target

    def _real_name(self, fullname):
        if fullname.startswith(self.alias + '.'):
            return self.target + fullname[len(self.alias):]
        return None

    def find_spec(self, fullname, path=None, target=None):
        real = self._real_name(fullname)
        if real is None or importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(self._real_name(spec.name))
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the alias spec on the module; give the
        # module its own spec back.
        module.__spec__ = module.__spec__.loader_state


def install(alias, target):
    """Make ``alias`` and all its submodules name ``target``'s modules."""
    if not any(isinstance(f, _AliasFinder) and f.alias == alias
               for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder(alias, target))
    sys.modules[alias] = importlib.import_module(target)
