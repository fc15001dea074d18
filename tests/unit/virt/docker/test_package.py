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

"""novadocker.virt.docker: the package loads the driver only when asked."""

import subprocess
import sys

_PROBE = '''
import sys
import novadocker.virt.docker as pkg
from novadocker.virt.docker import labels
before = 'novadocker.virt.docker.driver' in sys.modules
cls = pkg.DockerDriver
print(before, cls.__module__, 'novadocker.virt.docker.driver' in sys.modules)
'''


def _probe():
    return subprocess.run([sys.executable, '-c', _PROBE], check=True,
                          capture_output=True, text=True,
                          timeout=120).stdout.split()


def test_driver_loads_on_first_use_of_the_class():
    assert _probe() == ['False', 'novadocker.virt.docker.driver', 'True']


def test_unknown_attribute_is_an_attribute_error():
    import novadocker.virt.docker as pkg
    try:
        pkg.NoSuchThing
    except AttributeError as e:
        assert 'NoSuchThing' in str(e)
    else:
        raise AssertionError('NoSuchThing resolved')
