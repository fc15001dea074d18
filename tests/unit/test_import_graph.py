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

"""README.rst's import graph of novadocker/ is the code's."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, 'novadocker')
SHORT = 'novadocker.virt.docker.'
MARKER = 'tests/unit/test_import_graph.py'


def _modules():
    found = {}
    for top, _dirs, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(top, name)
                module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                found[module[:-len('.__init__')]
                      if module.endswith('.__init__') else module] = path
    return found


def _imports(module, path, modules):
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names
                       if a.name.split('.')[0] == 'novadocker')
        elif (isinstance(node, ast.ImportFrom) and node.module and
              node.module.split('.')[0] == 'novadocker'):
            for alias in node.names:
                full = '%s.%s' % (node.module, alias.name)
                out.add(full if full in modules else node.module)
    out.discard(module)
    return out


def code_graph():
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    return {m: deps for m, deps in graph.items() if deps}


def _full(name):
    return name if name.split('.')[0] == 'novadocker' else SHORT + name


def readme_graph():
    with open(os.path.join(ROOT, 'README.rst')) as f:
        text = f.read()
    block = text[text.index(MARKER):].split('::\n\n', 1)[1]
    graph, current = {}, None
    for line in block.splitlines():
        if line and not line.startswith(' '):
            break           # the end of the literal block
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if '->' in line:
            name, line = line.split('->')
            current = _full(name.strip())
            assert current not in graph, 'listed twice: %s' % current
            graph[current] = set()
        graph[current].update(_full(n) for n in line.split())
    return graph


def test_readme_shows_the_import_graph():
    code, readme = code_graph(), readme_graph()
    missing = {m: sorted(d - readme.get(m, set()))
               for m, d in code.items() if d - readme.get(m, set())}
    extra = {m: sorted(d - code.get(m, set()))
             for m, d in readme.items() if d - code.get(m, set())}
    assert (missing, extra) == ({}, {}), (
        'README.rst import graph: missing %s, not in the code %s'
        % (missing, extra))


def test_the_validators_import_no_driver_code():
    graph = code_graph()
    seen, todo = set(), ['novadocker.extra_specs.validators']
    while todo:
        module = todo.pop()
        seen.add(module)
        todo.extend(graph.get(module, set()) - seen)
    assert not {m for m in seen if m.startswith('novadocker.virt')}
