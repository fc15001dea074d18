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

"""knobs.py: flavor extra specs and image properties -> container settings."""

from nova import exception
from nova import objects
from nova import test

from novadocker.extra_specs import names
from novadocker.virt.docker import knobs
from novadocker.virt.docker import translator

MIB = 1024 * 1024


def _flavor(specs=None, vcpus=2, memory_mb=256, swap=0, root_gb=1):
    return objects.Flavor(name='f', vcpus=vcpus, memory_mb=memory_mb,
                          swap=swap, root_gb=root_gb,
                          extra_specs=specs or {})


class SettingsTestCase(test.NoDBTestCase):
    def settings(self, specs=None, props=None, privileged=False,
                 storage=None, host_cpus=8, **flavor):
        return knobs.settings(_flavor(specs, **flavor), 'img', props or {},
                              2048, privileged, host_cpus, storage)

    def test_nothing_asked(self):
        self.assertEqual({'pids_limit': 2048}, self.settings())

    def test_cfs_quota_and_period_replace_nano_cpus(self):
        out = self.settings({'quota:cpu_quota': '50000',
                             'quota:cpu_period': '200000',
                             'quota:cpu_shares': '512'})
        self.assertEqual({'nano_cpus': None, 'cpu_quota': 50000,
                          'cpu_period': 200000, 'cpu_shares': 512,
                          'pids_limit': 2048}, out)
        merged = translator.merge(translator.host_config(_flavor(), 2048, 8),
                                  out)
        self.assertNotIn('nano_cpus', merged)
        self.assertEqual(512, merged['cpu_shares'])

    def test_period_alone_gives_vcpus_worth_of_quota(self):
        out = self.settings({'quota:cpu_period': '50000'}, vcpus=3)
        self.assertEqual(150000, out['cpu_quota'])

    def test_quota_never_exceeds_the_engines_cpus(self):
        # Docker's NanoCpus range ends at NCPU; a CFS quota follows the
        # same rule, whether derived from the vCPUs or set in the flavor.
        out = self.settings({'quota:cpu_period': '50000'}, vcpus=4,
                            host_cpus=2)
        self.assertEqual(100000, out['cpu_quota'])
        out = self.settings({'quota:cpu_quota': '900000'}, host_cpus=2)
        self.assertEqual(200000, out['cpu_quota'])
        self.assertEqual(100000, out['cpu_period'])
        out = self.settings({'quota:cpu_quota': '150000'}, host_cpus=2)
        self.assertEqual(150000, out['cpu_quota'])

    def test_swap_from_flavor(self):
        out = self.settings(memory_mb=256, swap=128)
        self.assertEqual(384 * MIB, out['memswap_limit'])

    def test_pids_limit_flavor_then_image_only_lowers(self):
        self.assertEqual(64, self.settings({'docker:pids_limit': '64'})
                         ['pids_limit'])
        self.assertEqual(32, self.settings({'docker:pids_limit': '64'},
                                           {'docker_pids_limit': '32'})
                         ['pids_limit'])
        self.assertEqual(64, self.settings({'docker:pids_limit': '64'},
                                           {'docker_pids_limit': '5000'})
                         ['pids_limit'])

    def test_capabilities_and_read_only(self):
        out = self.settings({'docker:cap_add': 'net_admin, CAP_SYS_TIME',
                             'docker:cap_drop': 'MKNOD',
                             'docker:read_only_root': 'true'},
                            {'docker_cap_drop': 'NET_RAW,mknod'})
        self.assertEqual(['NET_ADMIN', 'SYS_TIME'], out['cap_add'])
        self.assertEqual(['MKNOD', 'NET_RAW'], out['cap_drop'])
        self.assertTrue(out['read_only'])
        out = self.settings(props={'docker_read_only_root': 'yes',
                                   'docker_cap_drop': 'ALL'})
        self.assertEqual(['ALL'], out['cap_drop'])
        self.assertTrue(out['read_only'])

    def test_privileged_only_when_allowed(self):
        self.assertRaisesRegex(exception.InvalidInput, 'not allowed',
                               self.settings, {'docker:privileged': 'true'})
        self.assertRaisesRegex(exception.ImageUnacceptable, 'not allowed',
                               self.settings,
                               props={'docker_privileged': 'true'})
        self.assertTrue(self.settings({'docker:privileged': 'true'},
                                      privileged=True)['privileged'])
        self.assertNotIn('privileged',
                         self.settings({'docker:privileged': 'false'}))

    def test_root_disk(self):
        specs = {'docker:root_disk_limit': 'true'}
        self.assertEqual({'size': '5G'}, self.settings(
            specs, storage=('btrfs', 'btrfs'), root_gb=5)['storage_opt'])
        self.assertEqual({'size': '5G'}, self.settings(
            specs, storage=('overlay2', 'xfs'), root_gb=5)['storage_opt'])
        self.assertRaisesRegex(exception.InvalidInput,
                               'storage driver is overlay2 on extfs',
                               self.settings, specs,
                               storage=('overlay2', 'extfs'))
        self.assertRaisesRegex(exception.InvalidInput, 'root_gb is 0',
                               self.settings, specs,
                               storage=('btrfs', 'btrfs'), root_gb=0)

    def test_bad_flavor_values_are_invalid_input(self):
        for specs in ({'quota:cpu_quota': 'lots'},
                      {'quota:cpu_quota': '10'},
                      {'quota:cpu_period': '5000000'},
                      {'quota:cpu_shares': '1'},
                      {'docker:pids_limit': '0'},
                      {'docker:read_only_root': 'maybe'},
                      {'docker:cap_add': 'FLY'},
                      {'docker:cap_add': 'ALL'},
                      {'docker:cap_add': 'NET_ADMIN',
                       'docker:cap_drop': 'NET_ADMIN'},
                      {'docker:pids_limit': '9' * 40},
                      {'quota:cpu_quota': '9' * 40}):
            e = self.assertRaises(exception.InvalidInput, self.settings,
                                  specs)
            self.assertIn(sorted(specs)[0], str(e))

    def test_bad_image_values_are_image_unacceptable(self):
        for props in ({'docker_pids_limit': '-3'},
                      {'docker_pids_limit': str(knobs.PIDS_MAX + 1)},
                      {'docker_cap_drop': 'NOPE'},
                      {'docker_read_only_root': '2'}):
            e = self.assertRaises(exception.ImageUnacceptable,
                                  self.settings, props=props)
            self.assertIn(sorted(props)[0], str(e))


class HelpersTestCase(test.NoDBTestCase):
    def test_image_properties_from_system_metadata(self):
        props, cut = knobs.image_properties({
            'image_docker_cap_drop': 'NET_RAW', 'image_other': 'x',
            'image_min_ram': '0'})
        self.assertEqual({'docker_cap_drop': 'NET_RAW'}, props)
        self.assertFalse(cut)
        _, cut = knobs.image_properties({'image_docker_cap_drop': 'A' * 255})
        self.assertTrue(cut)

    def test_fixed_specs(self):
        a = knobs.fixed_specs(_flavor({'docker:cap_drop': 'MKNOD'}))
        b = knobs.fixed_specs(_flavor({'docker:cap_drop': 'MKNOD',
                                       'docker:pids_limit': '9'}, vcpus=4))
        self.assertEqual(a, b)
        c = knobs.fixed_specs(_flavor({'quota:cpu_quota': '50000'}))
        self.assertNotEqual(knobs.fixed_specs(_flavor()), c)


class TtyTestCase(test.NoDBTestCase):
    def _tty(self, spec=None, prop=None):
        flavor = objects.Flavor(extra_specs={})
        if spec is not None:
            flavor.extra_specs = {names.TTY: spec}
        props = {} if prop is None else {names.IMG_TTY: prop}
        return knobs.tty(flavor, 'img', props)

    def test_default_no_tty(self):
        self.assertFalse(self._tty())

    def test_flavor_or_image_asks(self):
        self.assertTrue(self._tty(spec='true'))
        self.assertTrue(self._tty(prop='yes'))
        self.assertTrue(self._tty(spec='false', prop='true'))
        self.assertFalse(self._tty(spec='false', prop='0'))

    def test_bad_values(self):
        self.assertRaises(exception.InvalidInput, self._tty, spec='maybe')
        self.assertRaises(exception.ImageUnacceptable, self._tty,
                          prop='sometimes')

    def test_image_property_is_read_from_system_metadata(self):
        props, cut = knobs.image_properties({'image_docker_tty': 'true'})
        self.assertEqual({names.IMG_TTY: 'true'}, props)
        self.assertFalse(cut)
