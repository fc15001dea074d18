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

"""Container knobs from flavor extra specs and image properties, through
Nova's API on a real Docker engine (doc/flavor-knobs.rst)."""

from nova.compute import power_state
from nova.tests.functional.api import client

from tests.functional import base


class KnobsTest(base.DockerFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.image = self.create_docker_image()

    def _flavor(self, specs, memory_mb=128, vcpus=1, disk=1):
        return self._create_flavor(memory_mb=memory_mb, vcpu=vcpus,
                                   disk=disk, extra_spec=specs)

    def test_knobs_reach_the_container(self):
        flavor = self._flavor({'quota:cpu_quota': '50000',
                               'quota:cpu_period': '100000',
                               'quota:cpu_shares': '300',
                               'docker:pids_limit': '64',
                               'docker:cap_add': 'NET_ADMIN',
                               'docker:cap_drop': 'MKNOD',
                               'docker:read_only_root': 'true'})
        image = self.create_docker_image(docker_cap_drop='NET_RAW',
                                         docker_pids_limit='48')
        server = self.boot(image['id'], flavor)
        hc = self.container(server)['HostConfig']
        self.assertEqual(50000, hc['CpuQuota'])
        self.assertEqual(100000, hc['CpuPeriod'])
        self.assertEqual(0, hc['NanoCpus'])
        self.assertEqual(300, hc['CpuShares'])
        self.assertEqual(48, hc['PidsLimit'])     # the image may lower it
        self.assertEqual(['NET_ADMIN'], hc['CapAdd'])
        self.assertEqual(['MKNOD', 'NET_RAW'], sorted(hc['CapDrop']))
        self.assertTrue(hc['ReadonlyRootfs'])
        self.assertFalse(hc['Privileged'])
        # The read-only root file system holds for real.
        exec_id = self.docker.exec_create(server['id'] and
                                          self.container(server)['Id'],
                                          ['touch', '/root/x'])['Id']
        self.docker.exec_start(exec_id)
        self.assertNotEqual(0, self.docker.exec_inspect(exec_id)['ExitCode'])

    def _assert_refused(self, flavor, image=None, text=None):
        server = self.boot((image or self.image)['id'], flavor,
                           expected='ERROR')
        fault = server['fault']['message']
        self.assertIn(text, fault)
        # Aborted, not rescheduled: one attempt, no container left.
        self.assertIsNone(self.container(server))
        self.assertNotIn('Exceeded maximum number of retries', fault)
        return fault

    def test_root_disk_limit_refused_on_overlay2_over_extfs(self):
        # Docker itself refuses storage_opt size here; we say why first.
        info = self.docker.info()
        self.assertEqual('overlay2', info['Driver'])
        fault = self._assert_refused(
            self._flavor({'docker:root_disk_limit': 'true'}),
            text='docker:root_disk_limit')
        self.assertIn('overlay2 on extfs', fault)

    def test_privileged_refused_unless_allowed(self):
        self._assert_refused(self._flavor({'docker:privileged': 'true'}),
                             text='[docker] privileged is false')
        image = self.create_docker_image(docker_privileged='true')
        self._assert_refused(self.create_flavor(), image,
                             text='docker_privileged')

    def test_bad_values_abort_the_build(self):
        self._assert_refused(self._flavor({'quota:cpu_period': '10'}),
                             text='quota:cpu_period')
        image = self.create_docker_image(docker_cap_drop='NOT_A_CAP')
        self._assert_refused(self.create_flavor(), image,
                             text='docker_cap_drop')

    def test_api_validates_our_extra_specs(self):
        flavor = self.create_flavor()
        self.api.microversion = '2.86'
        for key, value in (('docker:pids_limit', '0'),
                           ('docker:read_only_root', 'perhaps'),
                           ('docker:no_such_knob', '1')):
            e = self.assertRaises(
                client.OpenStackApiException, self.api.post_extra_spec,
                flavor, {'extra_specs': {key: value}})
            self.assertEqual(400, e.response.status_code, key)
        self.api.post_extra_spec(flavor,
                                 {'extra_specs': {'docker:pids_limit': '9'}})


class OOMTest(base.DockerFunctionalTestCase):
    # The power sync casts the stop while it holds the instance's lock;
    # as a call that would wait for itself.
    CAST_AS_CALL = False

    def test_out_of_memory_is_crashed_then_shutoff(self):
        # dd's 64 MiB buffer cannot fit in 32 MiB without swap.
        image = self.create_docker_image(
            command='sh -c "sleep 3; exec dd if=/dev/zero of=/dev/null '
                    'bs=64M count=4"')
        flavor = self.create_flavor(memory_mb=32)
        server = self.boot(image['id'], flavor)
        state = self.wait_for(
            lambda: (lambda s: s if s['Status'] == 'exited' else None)(
                self.container(server)['State']), what='the OOM kill')
        self.assertTrue(state['OOMKilled'])
        self.assertEqual(137, state['ExitCode'])
        self.assertEqual(power_state.CRASHED,
                         self.driver.get_info(self.instance(server),
                                              use_cache=False).state)
        # Nova ignores Docker's die event here: it maps STOPPED to SHUTDOWN
        # and drops the event as stale when the driver says CRASHED.  The
        # periodic power sync (answered from the driver's state cache) then
        # stops the instance; the API shows it.
        self.compute.manager._sync_power_states(self.ctxt)
        server = self.wait_for_status(server, 'SHUTOFF', timeout=60)
        self.assertEqual(power_state.CRASHED,
                         server['OS-EXT-STS:power_state'])
