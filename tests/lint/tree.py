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

"""The repository's files, as the lint tests walk them."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SKIP_DIRS = {'.git', '.venv', '.tox', 'build', 'dist', '__pycache__',
             'node_modules', '.pytest_cache'}


def files(wanted):
    """Paths of the regular files below ROOT for which ``wanted(path)``
    is true, in a stable order, skipping build and tool directories.
    """
    found = []
    for dirpath, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                         and not d.endswith('.egg-info'))
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and wanted(path):
                found.append(path)
    return found
