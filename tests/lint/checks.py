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

"""novadocker's own flake8 checks, next to hacking's (see tox.ini).

ND201: a handler that catches ``Exception`` or ``BaseException`` must
re-raise (``raise`` or ``excutils.save_and_reraise_exception()``) or say
why it swallows everything, in a comment on the ``except`` line or at the
top of its body.  hacking's H201 already rejects a bare ``except:``.
"""

import ast

BROAD = ('Exception', 'BaseException')
ND201 = ('ND201 broad except without a reason: re-raise, or say in a '
         'comment why everything is caught')


def _is_broad(node):
    if node is None:
        return False    # bare "except:" is hacking's H201
    if isinstance(node, ast.Tuple):
        return any(_is_broad(elt) for elt in node.elts)
    return isinstance(node, ast.Name) and node.id in BROAD


def _walk_same_scope(nodes):
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                 ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def _is_save_and_reraise(item):
    call = item.context_expr
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(
        func, 'id', None)
    return name == 'save_and_reraise_exception'


def _reraises(handler):
    for node in _walk_same_scope(handler.body):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.With) and any(
                _is_save_and_reraise(item) for item in node.items):
            return True
    return False


def _has_reason(handler, lines):
    """A comment on the except line or before the body's first statement."""
    first = handler.body[0].lineno
    for number in range(handler.lineno, first + 1):
        text = lines[number - 1]
        if number == first:
            text = text[:handler.body[0].col_offset]
        if '#' in text:
            return True
    return False


class BroadExcept(object):
    """ND201: ``except Exception`` needs a re-raise or a reason."""

    name = 'novadocker-broad-except'
    version = '1.0'

    def __init__(self, tree, lines):
        self._tree = tree
        self._lines = lines

    def run(self):
        for node in ast.walk(self._tree):
            if (isinstance(node, ast.ExceptHandler) and _is_broad(node.type)
                    and not _reraises(node)
                    and not _has_reason(node, self._lines)):
                yield node.lineno, node.col_offset, ND201, type(self)
