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

"""The project is Apache 2.0 licensed and every Python file says so.

Each Python file starts (after an optional ``#!`` line) with the Apache
2.0 header as OpenStack projects carry it.  Empty files (package
``__init__.py`` files) stay empty, as in OpenStack, where hacking's H104
rejects a file that holds nothing but comments.
"""

import os

from tests.lint import tree

ROOT = tree.ROOT

HEADER = '''\
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
'''


def _is_python(path):
    if path.endswith('.py'):
        return True
    if os.path.splitext(path)[1]:
        return False
    try:
        with open(path, 'rb') as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b'#!') and b'python' in first


def python_files():
    return tree.files(_is_python)


def header_problem(text):
    """Why ``text`` does not start with the license header, or None."""
    if not text:
        return None
    if text.startswith('#!'):
        text = text.partition('\n')[2]
    if not text.startswith(HEADER):
        return 'does not start with the Apache 2.0 license header'
    rest = text[len(HEADER):]
    if rest and not rest.startswith('\n'):
        return 'needs a blank line after the license header'
    return None


def test_license_file_is_apache_2():
    with open(os.path.join(ROOT, 'LICENSE')) as f:
        text = f.read()
    assert 'Apache License\n' in text
    assert 'Version 2.0, January 2004' in text
    assert 'END OF TERMS AND CONDITIONS' in text


def test_finds_the_python_files_it_must_check():
    found = {os.path.relpath(p, ROOT) for p in python_files()}
    for must in ('setup.py', 'novadocker/virt/docker/driver.py',
                 'tests/lint/test_license.py', 'contrib/demo.py'):
        assert must in found
    assert not [p for p in found if p.startswith(('.venv/', '.git/'))]


def test_header_check_tells_good_from_bad():
    assert header_problem('') is None
    assert header_problem(HEADER) is None
    assert header_problem('#!/usr/bin/env python3\n' + HEADER +
                          '\n"""Doc."""\n') is None
    assert header_problem('"""Doc."""\n' + HEADER)
    assert header_problem(HEADER.replace('2.0', '3.0'))
    assert header_problem(HEADER + '"""Doc."""\n')


def test_every_python_file_carries_the_license_header():
    missing = []
    for path in python_files():
        with open(path, encoding='utf-8') as f:
            problem = header_problem(f.read())
        if problem:
            missing.append('%s: %s' % (os.path.relpath(path, ROOT), problem))
    assert not missing, '\n'.join(missing)
