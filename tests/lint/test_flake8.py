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

"""The code passes flake8 with hacking and our checks (settings in tox.ini)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PATHS = ('novadocker', 'tests', 'contrib', 'benchmarks')

# One violation of each kind of rule the configuration must have turned on.
BAD = """\
import sys
import os
from unittest import mock


def f():
    try:
        return os.getpid() + sys.maxsize
    except Exception:
        return None


def g():
    with mock.patch.object(os, 'getpid'):
        pass
"""


def _flake8(*args, **kwargs):
    return subprocess.run(
        [sys.executable, '-m', 'flake8'] + list(args),
        cwd=ROOT, capture_output=True, text=True, timeout=300, **kwargs)


def test_hacking_and_local_checks_are_active():
    result = _flake8('--stdin-display-name=bad.py', '-', input=BAD)
    codes = {line.split(':')[3].split()[0]
             for line in result.stdout.splitlines()}
    # H306: hacking is installed; H210: its optional extensions are
    # enabled; ND201: our local plugin is loaded.
    assert {'H306', 'H210', 'ND201'} <= codes, result.stdout + result.stderr


def test_flake8_is_clean():
    result = _flake8(*PATHS)
    assert result.returncode == 0, result.stdout + result.stderr
