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

"""init_host's check that the engine runs on this host, on a real engine:
accepted from here, refused from a PID namespace that cannot see the
engine's processes (as nova-compute on another host could not)."""

import subprocess
import sys
import uuid

import nova.conf
from nova import exception
from nova.virt import virtapi
from oslo_config import fixture as cfg_fixture
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import driver as docker_driver
from novadocker.virt.docker import enginehost
from novadocker.virt.docker import labels
from novadocker.virt.docker.network import sandbox

CONF = nova.conf.CONF

CHECK = '''
import sys
from nova import exception
from novadocker.virt.docker import client, enginehost
from novadocker.virt.docker.network import sandbox
c = client.DockerClient(sys.argv[1], timeout=30)
try:
    enginehost.check_local(c, sandbox.Sandboxes(c, sys.argv[2]), c.info(),
                           sys.argv[2])
except exception.InvalidConfiguration as e:
    print(e)
    sys.exit(3)
'''


def _ours(docker_api, host):
    wanted = labels.owner_labels(host)
    return docker_api.containers(all=True, filters={
        'label': labels.label_filter(wanted)})


def test_init_host_accepts_the_engine_on_this_host(docker_url, docker_api,
                                                   tmp_path):
    fixture = cfg_fixture.Config(CONF)
    fixture.setUp()
    host = 'nd-eh-%s' % uuid.uuid4().hex[:8]
    fixture.config(host=host, instances_path=str(tmp_path))
    fixture.config(group='docker', host_url=docker_url, watch_events=False)
    driver = docker_driver.DockerDriver(virtapi.VirtAPI())
    try:
        driver.init_host(host)
    finally:
        driver.cleanup_host(host)
        fixture.cleanUp()
    # The probe is gone.
    assert _ours(docker_api, host) == []


def test_engine_whose_processes_are_not_here_is_refused(docker_url,
                                                        docker_api):
    # In a PID namespace of its own, with its own /proc, nova-compute sees
    # none of the engine's processes, exactly as on another host.
    host = 'nd-eh-%s' % uuid.uuid4().hex[:8]
    done = subprocess.run(
        ['unshare', '--pid', '--fork', '--mount-proc', sys.executable,
         '-c', CHECK, docker_url, host],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert 'not a process of that container on this host' in done.stdout
    assert _ours(docker_api, host) == []


def test_probe_passes_here_and_a_missing_data_directory_fails(docker_url):
    client = docker_client.DockerClient(docker_url, timeout=30)
    host = 'nd-eh-%s' % uuid.uuid4().hex[:8]
    enginehost.check_local(client, sandbox.Sandboxes(client, host),
                           client.info(), host)
    with pytest.raises(exception.InvalidConfiguration):
        enginehost.check_local(client, sandbox.Sandboxes(client, host),
                               {'DockerRootDir': '/nonexistent/docker'},
                               host)
