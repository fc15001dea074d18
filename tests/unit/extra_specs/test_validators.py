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

"""extra_specs.validators: nova-api's checks of the docker:* extra specs."""

import subprocess
import sys

from nova import exception
from nova import test

from novadocker.extra_specs import names
from novadocker.extra_specs import validators

# What nova-api must not load with our validators.
DRIVER_MODULES = ('docker', 'os_vif', 'pyroute2', 'novadocker.virt')
_PROBE = '''
import sys
import novadocker.extra_specs.validators as v
v.register()
print(",".join(m for m in %r if m in sys.modules))
'''


class ValidatorsTestCase(test.NoDBTestCase):
    def test_register_validates_through_nova(self):
        from nova.api.validation.extra_specs import validators as nova_v
        by_name = {v.name: v for v in validators.register()}
        by_name[names.PIDS_LIMIT].validate(names.PIDS_LIMIT, '10')
        self.assertRaises(exception.ValidationError,
                          by_name[names.PIDS_LIMIT].validate,
                          names.PIDS_LIMIT, '0')
        self.assertRaises(exception.ValidationError,
                          by_name[names.PRIVILEGED].validate,
                          names.PRIVILEGED, 'perhaps')
        # Installed as nova.api.extra_spec_validators: nova knows them.
        self.assertIn(names.READ_ONLY_ROOT, nova_v.VALIDATORS,
                      'the nova.api.extra_spec_validators entry point is '
                      'not installed')
        self.assertRaises(exception.ValidationError, nova_v.validate,
                          'docker:no_such_knob', '1')

    def test_every_docker_key_has_a_validator(self):
        keys = {value for key, value in vars(names).items()
                if key.isupper() and isinstance(value, str) and
                value.startswith('docker:')}
        self.assertEqual(keys, {v.name for v in validators.register()})

    def test_loads_no_driver_code(self):
        """nova-api imports the validators without the virt driver."""
        out = subprocess.run(
            [sys.executable, '-c', _PROBE % (DRIVER_MODULES,)],
            check=True, capture_output=True, text=True, timeout=120)
        self.assertEqual('', out.stdout.strip(),
                         'importing the validators loaded driver modules')
