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

"""Docker virt driver: ``novadocker.virt.docker.DockerDriver``.

The driver loads on first use of ``DockerDriver`` (nova's
``load_compute_driver`` imports this package and reads the attribute), so
that importing a module of the package does not load the whole driver, the
Docker SDK, os-vif and pyroute2, or register the ``[docker]`` options.
"""

import importlib


def __getattr__(name):
    if name == 'DockerDriver':
        return importlib.import_module(__name__ + '.driver').DockerDriver
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
