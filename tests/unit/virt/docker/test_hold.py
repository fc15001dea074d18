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

"""The entrypoint holder: the container arguments, the release, and the
real program (built from hold.c with the host's compiler) holding and
executing a process.
"""

import os
import signal
import stat
import subprocess
import time

import pytest

from novadocker.cmd import build_hold
from novadocker.virt.docker.network import hold

IMAGE = {'Entrypoint': ['/docker-entrypoint.sh'], 'Cmd': ['nginx', '-g']}


def _args(command=None):
    return {'image': 'img', 'command': command,
            'host_config': {'network_mode': 'none', 'mounts': [{'x': 1}]}}


def test_wrap_puts_the_holder_before_entrypoint_and_command():
    args = _args()
    held = hold.wrap(args, IMAGE, '/usr/lib/hold', '/i/u/ready')
    assert held['entrypoint'] == [hold.PROGRAM_TARGET, hold.FIFO_TARGET,
                                  '/docker-entrypoint.sh']
    assert held['command'] == ['nginx', '-g']
    assert held['host_config']['mounts'] == [
        {'x': 1},
        {'Type': 'bind', 'Source': '/usr/lib/hold',
         'Target': hold.PROGRAM_TARGET, 'ReadOnly': True},
        {'Type': 'bind', 'Source': '/i/u/ready', 'Target': hold.FIFO_TARGET,
         'ReadOnly': True}]
    # The input is left as it was.
    assert args == _args()


def test_wrap_keeps_os_command_line_in_place_of_the_images_cmd():
    held = hold.wrap(_args(['sleep', '1 2']), IMAGE, '/h', '/f')
    assert held['entrypoint'][2:] == ['/docker-entrypoint.sh']
    assert held['command'] == ['sleep', '1 2']
    held = hold.wrap(_args(['top']), {'Entrypoint': None, 'Cmd': ['sh']},
                     '/h', '/f')
    assert held['entrypoint'] == [hold.PROGRAM_TARGET, hold.FIFO_TARGET]
    assert held['command'] == ['top']


def test_a_commit_gives_back_the_containers_own_entrypoint_and_command():
    held = hold.wrap(_args(), IMAGE, '/h', '/f')
    config = {'Entrypoint': held['entrypoint'], 'Cmd': held['command']}
    assert hold.is_held(config)
    assert hold.original(config) == (['/docker-entrypoint.sh'],
                                     ['nginx', '-g'])
    assert hold.commit_changes(config) == [
        'ENTRYPOINT ["/docker-entrypoint.sh"]', 'CMD ["nginx", "-g"]']
    plain = {'Entrypoint': None, 'Cmd': ['sh']}
    assert not hold.is_held(plain)
    assert hold.original(plain) is None
    assert hold.commit_changes(plain) is None


def test_release_without_a_reader_gives_up(tmp_path):
    fifo = str(tmp_path / 'ready')
    hold.make_fifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert stat.S_IMODE(os.stat(fifo).st_mode) == 0o644
    hold.make_fifo(fifo)    # kept
    assert hold.release(fifo, 0, lambda: True) is False
    start = time.monotonic()
    assert hold.release(fifo, 30, lambda: False) is False
    assert time.monotonic() - start < 5


@pytest.fixture(scope='module')
def program(tmp_path_factory):
    output = str(tmp_path_factory.mktemp('hold') / 'novadocker-hold')
    assert build_hold.main(['--output', output]) == 0
    mode = os.stat(output).st_mode
    assert stat.S_IMODE(mode) == 0o755
    # Static: it runs in any image, with or without a libc.
    with open(output, 'rb') as f:
        assert b'/lib64/ld-linux' not in f.read()
    assert build_hold.main(['--output', output]) == 0    # up to date
    return output


def _held(program, fifo, *argv):
    hold.make_fifo(fifo)
    return subprocess.Popen([program, fifo] + list(argv),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_program_runs_the_command_only_once_released(program, tmp_path):
    fifo = str(tmp_path / 'ready')
    proc = _held(program, fifo, 'printf', '%s|', 'a b', '$HOME', ';x', '')
    time.sleep(0.3)
    assert proc.poll() is None          # held
    assert hold.release(fifo, 10, lambda: proc.poll() is None)
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out, err) == (0, b'a b|$HOME|;x||', b'')


def test_program_passes_the_exit_status_through(program, tmp_path):
    fifo = str(tmp_path / 'ready')
    proc = _held(program, fifo, 'sh', '-c', 'exit 7')
    assert hold.release(fifo, 10, lambda: proc.poll() is None)
    assert proc.wait(timeout=10) == 7
    proc = _held(program, fifo, 'no-such-program-here')
    assert hold.release(fifo, 10, lambda: proc.poll() is None)
    assert proc.wait(timeout=10) == 127
    assert b'no-such-program-here' in proc.stderr.read()


def test_program_stopped_while_held_exits_as_killed(program, tmp_path):
    fifo = str(tmp_path / 'ready')
    proc = _held(program, fifo, 'true')
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    assert hold.release(fifo, 0, lambda: True) is False


def test_program_without_a_command_refuses(program, tmp_path):
    result = subprocess.run([program, str(tmp_path / 'f')],
                            capture_output=True, timeout=10)
    assert result.returncode == 127
    assert b'usage' in result.stderr
