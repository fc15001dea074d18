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

"""novadocker._alias: one module object under two names."""

import importlib
import sys
import textwrap

import pytest

from novadocker import _alias


@pytest.fixture
def packages(tmp_path, monkeypatch, request):
    """A throw-away package ``<real>`` with a subpackage and a module that
    counts how often it ran, and an alias name for it.
    """
    real = 'ndreal_%s' % request.node.name.replace('[', '_').strip(']')[:40]
    alias = 'ndalias.' + real
    pkg = tmp_path / real
    (pkg / 'sub').mkdir(parents=True)
    (pkg / '__init__.py').write_text('')
    (pkg / 'sub' / '__init__.py').write_text('')
    (pkg / 'sub' / 'mod.py').write_text(textwrap.dedent('''
        import builtins
        RUNS = getattr(builtins, '_nd_alias_runs', 0) + 1
        builtins._nd_alias_runs = RUNS

        class Thing(object):
            pass
    '''))
    (pkg / 'sub' / 'broken.py').write_text('raise RuntimeError("broken")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    before_path = list(sys.meta_path)
    yield real, alias
    sys.meta_path[:] = before_path
    for name in list(sys.modules):
        if name.split('.')[0] in (real, 'ndalias') or name == 'ndalias':
            del sys.modules[name]
    import builtins
    if hasattr(builtins, '_nd_alias_runs'):
        del builtins._nd_alias_runs


def test_alias_names_the_same_package(packages):
    real, alias = packages
    _alias.install(alias, real)
    assert sys.modules[alias] is sys.modules[real]


def test_submodule_imported_once_alias_first(packages):
    real, alias = packages
    _alias.install(alias, real)
    via_alias = importlib.import_module(alias + '.sub.mod')
    via_real = importlib.import_module(real + '.sub.mod')
    assert via_alias is via_real
    assert via_alias.RUNS == 1
    assert via_alias.Thing is via_real.Thing
    assert sys.modules[alias + '.sub'] is sys.modules[real + '.sub']


def test_submodule_imported_once_real_first(packages):
    real, alias = packages
    via_real = importlib.import_module(real + '.sub.mod')
    _alias.install(alias, real)
    via_alias = importlib.import_module(alias + '.sub.mod')
    assert via_alias is via_real
    assert via_real.RUNS == 1


def test_spec_stays_the_real_one(packages):
    real, alias = packages
    _alias.install(alias, real)
    mod = importlib.import_module(alias + '.sub.mod')
    assert mod.__spec__.name == real + '.sub.mod'
    assert mod.__name__ == real + '.sub.mod'
    assert mod.__spec__.origin.endswith('mod.py')
    # importlib.reload works through the real name.
    assert importlib.reload(mod) is mod


def test_missing_submodule_is_an_import_error(packages):
    real, alias = packages
    _alias.install(alias, real)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(alias + '.sub.nothing_here')


def test_error_in_module_propagates(packages):
    real, alias = packages
    _alias.install(alias, real)
    with pytest.raises(RuntimeError, match='broken'):
        importlib.import_module(alias + '.sub.broken')
    assert alias + '.sub.broken' not in sys.modules


def test_install_twice_adds_one_finder(packages):
    real, alias = packages
    before = len(sys.meta_path)
    _alias.install(alias, real)
    _alias.install(alias, real)
    assert len(sys.meta_path) == before + 1


def test_other_names_are_not_answered(packages):
    real, alias = packages
    _alias.install(alias, real)
    finder = sys.meta_path[0]
    assert finder.find_spec(alias + 'x.sub') is None
    assert finder.find_spec('json') is None


def test_nova_virt_novadocker_is_novadocker():
    # The shim that the wheel installs as nova/virt/novadocker/__init__.py.
    import nova.virt.novadocker.virt.docker.driver as via_nova
    from novadocker.virt.docker import driver
    assert via_nova is driver
    assert sys.modules['nova.virt.novadocker'] is sys.modules['novadocker']
