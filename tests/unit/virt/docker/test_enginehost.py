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

"""enginehost.py: an engine on another host, or of another architecture,
is refused with a message that says why."""

import os

from nova import exception
import pytest

from novadocker.virt.docker import enginehost
from novadocker.virt.docker import labels

URL = 'tcp://10.0.0.9:2376'


class _Client(object):
    """The engine's side of the probe: the PID it reports."""
    url = URL

    def __init__(self, pid):
        self.pid = pid
        self.created = []
        self.removed = []

    def create_container(self, **args):
        self.created.append(args)
        return {'Id': 'f00d' * 16}

    def start(self, ref):
        pass

    def inspect_container(self, ref):
        return {'Id': ref, 'State': {'Pid': self.pid}}

    def remove_container(self, ref):
        self.removed.append(ref)


class _Sandboxes(object):
    def ensure_image(self):
        pass


def _proc(tmp_path, pid, cgroup):
    os.makedirs(tmp_path / str(pid))
    (tmp_path / str(pid) / 'cgroup').write_text(cgroup)


@pytest.mark.parametrize('arch', ['aarch64', 'ppc64le', 's390x'])
def test_other_architectures_are_refused(arch):
    with pytest.raises(exception.InvalidConfiguration) as e:
        enginehost.check_architecture(URL, {'Architecture': arch})
    assert arch in str(e.value)
    assert 'x86_64 only' in str(e.value)
    assert URL in str(e.value)


def test_x86_64_is_accepted():
    enginehost.check_architecture(URL, {'Architecture': 'x86_64'})
    enginehost.check_architecture(URL, {'Architecture': 'amd64'})


def test_missing_data_directory_is_refused_before_any_container(tmp_path):
    client = _Client(1)
    with pytest.raises(exception.InvalidConfiguration) as e:
        enginehost.check_local(client, _Sandboxes(), {
            'DockerRootDir': str(tmp_path / 'elsewhere')}, 'cmp1')
    assert 'does not exist here' in str(e.value)
    assert client.created == []


def test_process_of_the_container(tmp_path):
    cid = 'ab' * 32
    _proc(tmp_path, 42, '0::/docker/%s\n' % cid)
    _proc(tmp_path, 43, '0::/user.slice/session-1.scope\n')
    assert enginehost.process_in_container(42, cid, proc=str(tmp_path))
    assert not enginehost.process_in_container(43, cid, proc=str(tmp_path))
    assert not enginehost.process_in_container(44, cid, proc=str(tmp_path))


def test_probe_of_another_kernel_is_refused_and_removed(tmp_path):
    # A remote engine's PID: here no process, or another one.
    for pid in (2 ** 22 + 7, os.getpid()):
        client = _Client(pid)
        with pytest.raises(exception.InvalidConfiguration) as e:
            enginehost.check_local(client, _Sandboxes(), {
                'DockerRootDir': str(tmp_path)}, 'cmp1')
        assert 'not a process of that container on this host' in str(
            e.value)
        assert client.removed == ['f00d' * 16]
        wanted = client.created[0]['labels']
        assert wanted[labels.LABEL_ROLE] == enginehost.PROBE_ROLE
        assert wanted[labels.LABEL_HOST] == 'cmp1'
