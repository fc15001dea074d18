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

"""The names of the driver's flavor extra specs and image properties.

Shared by the API's validators (:mod:`novadocker.extra_specs.validators`)
and the compute side's ``knobs.py``, which reads them. Constants only: this
module imports nothing.
"""

# Nova's standard extra specs, as the libvirt driver reads them.
CPU_QUOTA = 'quota:cpu_quota'
CPU_PERIOD = 'quota:cpu_period'
CPU_SHARES = 'quota:cpu_shares'
# Ours.
PIDS_LIMIT = 'docker:pids_limit'
ROOT_DISK_LIMIT = 'docker:root_disk_limit'
CAP_ADD = 'docker:cap_add'
CAP_DROP = 'docker:cap_drop'
READ_ONLY_ROOT = 'docker:read_only_root'
PRIVILEGED = 'docker:privileged'
# A TTY for the main process (the serial console is then a terminal).
TTY = 'docker:tty'

# Image properties (Glance); nova's ImageMeta drops them, so the driver
# reads them from Glance.
IMG_CAP_DROP = 'docker_cap_drop'
IMG_READ_ONLY_ROOT = 'docker_read_only_root'
IMG_PIDS_LIMIT = 'docker_pids_limit'
IMG_PRIVILEGED = 'docker_privileged'
IMG_TTY = 'docker_tty'
IMAGE_PROPERTIES = (IMG_CAP_DROP, IMG_READ_ONLY_ROOT, IMG_PIDS_LIMIT,
                    IMG_PRIVILEGED, IMG_TTY)
