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

"""Every shell script of the repository passes shellcheck."""

import os
import shutil
import subprocess

from tests.lint import tree

ROOT = tree.ROOT
# devstack files are shell without a .sh name (settings, lib/*,
# hypervisor-docker).
DEVSTACK_DIRS = (os.path.join(ROOT, 'devstack'),
                 os.path.join(ROOT, 'contrib', 'devstack'))
NOT_SHELL = ('.rst', '.md', '.txt', '.sample', '.py', '.yaml', '.json')


def _shebang_is_shell(path):
    try:
        with open(path, 'rb') as f:
            first = f.readline(200)
    except OSError:
        return False
    if not first.startswith(b'#!'):
        return False
    interpreter = first[2:].split()
    if interpreter and interpreter[0].endswith(b'/env'):
        interpreter = interpreter[1:]
    return bool(interpreter) and os.path.basename(interpreter[0]) in (
        b'sh', b'bash')


def _is_shell(path):
    if path.endswith('.sh'):
        return True
    if path.endswith(NOT_SHELL):
        return False
    if path.startswith(DEVSTACK_DIRS):
        return True
    return _shebang_is_shell(path)


def shell_scripts():
    return tree.files(_is_shell)


def test_finds_the_scripts_it_must_check():
    scripts = {os.path.relpath(p, ROOT) for p in shell_scripts()}
    for must in ('devstack/plugin.sh', 'devstack/settings',
                 'devstack/lib/novadocker',
                 'contrib/devstack/prepare_devstack.sh',
                 'contrib/devstack/lib/nova_plugins/hypervisor-docker'):
        assert must in scripts
    assert not [s for s in scripts if s.endswith('.py')]


def test_shellcheck_passes():
    shellcheck = shutil.which('shellcheck')
    assert shellcheck, 'shellcheck is missing: apt-get install -y shellcheck'
    scripts = [os.path.relpath(p, ROOT) for p in shell_scripts()]
    # -x follows "source" lines (their "shellcheck source=" paths are
    # relative to the repository root); every script names its shell in
    # its shebang.
    result = subprocess.run(
        [shellcheck, '-x', '--format=gcc'] + scripts,
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
