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

"""Validators for nova's API: the ``nova.api.extra_spec_validators`` entry
point.

With them nova's API (microversion 2.86 and later) checks ``docker:*``
extra specs when they are set, and refuses unknown ``docker:*`` keys.
doc/flavor-knobs.rst lists every knob.
"""

from nova.api.validation.extra_specs import base

from novadocker.extra_specs import names


def _boolean(name, description):
    return base.ExtraSpecValidator(name=name, description=description,
                                   value={'type': bool})


def _caps(name, description):
    return base.ExtraSpecValidator(
        name=name, description=description,
        value={'type': str, 'pattern': r'[A-Za-z_, ]+'})


def register():
    """Validators for nova's API (``nova.api.extra_spec_validators``)."""
    return [
        base.ExtraSpecValidator(
            name=names.PIDS_LIMIT,
            description='Most processes and threads the container may run '
                        '(Docker driver); overrides [docker] pids_limit.',
            # The kernel's PID_MAX_LIMIT.
            value={'type': int, 'min': 1, 'max': 4194304}),
        _boolean(names.ROOT_DISK_LIMIT,
                 'Limit the container\'s root disk to the flavor\'s root_gb '
                 '(Docker driver; needs a storage driver that can).'),
        _caps(names.CAP_ADD, 'Linux capabilities to add to the container, '
                             'comma separated (Docker driver).'),
        _caps(names.CAP_DROP, 'Linux capabilities to drop from the '
                              'container, comma separated, or ALL (Docker '
                              'driver).'),
        _boolean(names.READ_ONLY_ROOT,
                 'Mount the container\'s root file system read-only (Docker '
                 'driver).'),
        _boolean(names.PRIVILEGED,
                 'Run the container privileged (Docker driver; only where '
                 '[docker] privileged is true).'),
        _boolean(names.TTY,
                 'Give the container a TTY, so that its serial console is a '
                 'terminal (Docker driver).'),
    ]
