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

"""A mounted volume in the diagnostics, on a real loop device and engine:
the volume is a disk whose figures are what the engine's cgroup counters
say for its block device.

(Where the kernel does not count block I/O per cgroup, as on this
project's CI machines with cgroup v1 and buffered writeback, the engine
reports no blkio entries and the figures are 0; the mapping of entries to
disks is checked in tests/unit/virt/docker/test_diagnostics.py.)
"""

import os

from tests.integration.test_volumes import _attach
from tests.integration.test_volumes import blank  # noqa: F401 (fixture)


def _engine_writes(stats, device):
    rdev = os.stat(device).st_rdev
    return sum(e['value'] for e in
               stats['blkio_stats']['io_service_bytes_recursive'] or ()
               if (e['major'], e['minor']) == (os.major(rdev),
                                               os.minor(rdev)) and
               e['op'].lower() == 'write')


def test_volume_is_a_disk_in_diagnostics(servers, blank):  # noqa: F811
    inst = servers.boot()
    assert servers.driver.get_instance_diagnostics(inst).num_disks == 0
    _attach(servers, inst, blank)
    servers.ok(inst, 'dd', 'if=/dev/zero', 'of=/volumes/vdb/f', 'bs=1M',
               'count=2', 'oflag=direct')

    diags = servers.driver.get_instance_diagnostics(inst)
    stats = servers.api.stats(servers.container(inst), stream=False)
    assert diags.num_disks == 1
    assert diags.disk_details[0].write_bytes == _engine_writes(stats, blank)
    assert 'vdb_write' in servers.driver.get_diagnostics(inst)
