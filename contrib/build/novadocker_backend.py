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

"""PEP 517 build backend: setuptools (with pbr), plus the Nova loader shim.

Nova loads ``compute_driver = X`` by importing ``nova.virt.X``.  For the
operators' line ``novadocker.virt.docker.DockerDriver`` to resolve, the
wheel also carries ``nova/virt/novadocker/__init__.py``, a three-line shim
that hands the import over to the real ``novadocker`` package (see
``novadocker/_alias.py``).  The shim is added here, after setuptools built
the wheel, so that it is present both for ``pip install .`` and for
``pip install -e .`` (setuptools' editable wheels carry no build_py or
data_files output).
"""

import base64
import hashlib
import os
import zipfile

from setuptools import build_meta as _orig

SHIM_PATH = 'nova/virt/novadocker/__init__.py'
SHIM_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'nova_virt_shim.py')

get_requires_for_build_wheel = _orig.get_requires_for_build_wheel
get_requires_for_build_sdist = _orig.get_requires_for_build_sdist
get_requires_for_build_editable = _orig.get_requires_for_build_editable
prepare_metadata_for_build_wheel = _orig.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = (
    _orig.prepare_metadata_for_build_editable)
build_sdist = _orig.build_sdist


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    name = _orig.build_wheel(wheel_directory, config_settings,
                             metadata_directory)
    _add_shim(os.path.join(wheel_directory, name))
    return name


def build_editable(wheel_directory, config_settings=None,
                   metadata_directory=None):
    name = _orig.build_editable(wheel_directory, config_settings,
                                metadata_directory)
    _add_shim(os.path.join(wheel_directory, name))
    return name


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return '%s,sha256=%s,%d\n' % (path, digest.rstrip(b'=').decode(),
                                  len(data))


def _add_shim(wheel_path):
    with open(SHIM_SOURCE, 'rb') as f:
        shim = f.read()
    tmp_path = wheel_path + '.tmp'
    with zipfile.ZipFile(wheel_path) as src, \
            zipfile.ZipFile(tmp_path, 'w', zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith('.dist-info/RECORD'):
                record = data.decode()
                data = (record.rstrip('\n') + '\n' +
                        _record_line(SHIM_PATH, shim)).encode()
                record_item = item
                continue
            dst.writestr(item, data)
        dst.writestr(SHIM_PATH, shim)
        dst.writestr(record_item, data)
    os.replace(tmp_path, wheel_path)
