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

"""instancefiles: per-instance directories on the compute host.

The instance's directory is 0700 whatever the umask or an earlier mode;
each feature's sub-directory gets the mode asked for; removing the last
sub-directory removes the instance's directory; files are written only
where nothing (not even a symlink) exists.
"""

import os
import stat
import subprocess

import pytest

from novadocker.virt.docker import instancefiles

UUID = '0f1e2d3c-0000-4000-8000-000000000001'


@pytest.fixture
def files(tmp_path):
    return instancefiles.InstanceFiles(str(tmp_path / 'instances'))


@pytest.fixture
def umask():
    """Runs the test under a permissive umask, then restores it."""
    old = os.umask(0o000)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_paths(files, tmp_path):
    top = str(tmp_path / 'instances' / UUID)
    assert files.instance_dir(UUID) == top
    assert files.path(UUID, 'keys') == os.path.join(top, 'keys')


def test_ensure_makes_the_instance_dir_private_and_the_subdir_as_asked(
        files, umask):
    path = files.ensure(UUID, 'net', 0o750)
    assert path == files.path(UUID, 'net')
    assert _mode(files.instance_dir(UUID)) == 0o700
    assert _mode(path) == 0o750


def test_ensure_mode_is_exact_under_a_strict_umask(files):
    old = os.umask(0o077)
    try:
        path = files.ensure(UUID, 'net', 0o755)
    finally:
        os.umask(old)
    assert _mode(path) == 0o755


def test_ensure_keeps_what_is_there(files):
    path = files.ensure(UUID, 'volumes', 0o700)
    with open(os.path.join(path, 'kept'), 'w') as f:
        f.write('x')
    assert files.ensure(UUID, 'volumes', 0o700) == path
    assert os.listdir(path) == ['kept']


def test_an_existing_instance_dir_is_made_private_again(files):
    top = files.instance_dir(UUID)
    os.makedirs(top)
    os.chmod(top, 0o755)
    files.ensure(UUID, 'net', 0o700)
    assert _mode(top) == 0o700


def test_create_starts_empty(files, umask):
    path = files.create(UUID, 'configdrive', 0o700)
    with open(os.path.join(path, 'leftover'), 'w') as f:
        f.write('from an earlier attempt')
    os.chmod(path, 0o777)
    assert files.create(UUID, 'configdrive', 0o700) == path
    assert os.listdir(path) == []
    assert _mode(path) == 0o700
    assert _mode(files.instance_dir(UUID)) == 0o700


def test_remove_keeps_the_instance_dir_while_another_subdir_is_left(files):
    files.create(UUID, 'keys', 0o700)
    files.create(UUID, 'configdrive', 0o700)
    files.remove(UUID, 'keys')
    assert os.listdir(files.instance_dir(UUID)) == ['configdrive']
    files.remove(UUID, 'configdrive')
    assert not os.path.exists(files.instance_dir(UUID))


def test_remove_what_is_gone_is_fine(files):
    files.remove(UUID, 'keys')
    files.create(UUID, 'keys', 0o700)
    files.remove(UUID, 'keys')
    files.remove(UUID, 'keys')
    assert not os.path.exists(files.instance_dir(UUID))


@pytest.fixture
def tmpfs():
    """Mounts a tmpfs on the directories given; unmounts them at the end
    (root: the unit suite runs as root).
    """
    mounted = []

    def mount(path):
        os.makedirs(path, exist_ok=True)
        subprocess.run(['mount', '-t', 'tmpfs', 'nd-test', path], check=True)
        mounted.append(path)
        with open(os.path.join(path, 'data'), 'w') as f:
            f.write('user data')

    yield mount
    for path in reversed(mounted):
        subprocess.run(['umount', path], check=True)


@pytest.mark.parametrize('where', ['below', 'on'])
def test_remove_never_crosses_into_a_mounted_file_system(
        files, tmpfs, where):
    path = files.create(UUID, 'volumes', 0o700)
    mnt = os.path.join(path, 'vdb') if where == 'below' else path
    tmpfs(mnt)
    with pytest.raises(instancefiles.FilesStillMounted) as raised:
        files.remove(UUID, 'volumes')
    assert mnt in str(raised.value)
    with open(os.path.join(mnt, 'data')) as f:
        assert f.read() == 'user data'
    with pytest.raises(instancefiles.FilesStillMounted):
        files.create(UUID, 'volumes', 0o700)
    assert os.path.exists(os.path.join(mnt, 'data'))


def test_remove_raises_what_it_cannot_remove(files, monkeypatch):
    files.create(UUID, 'keys', 0o700)

    def refuse(path):
        raise PermissionError(13, 'Permission denied', path)

    monkeypatch.setattr(instancefiles.shutil, 'rmtree', refuse)
    with pytest.raises(PermissionError):
        files.remove(UUID, 'keys')
    assert os.path.isdir(files.path(UUID, 'keys'))


def test_write_file_creates_with_the_mode(tmp_path, umask):
    path = str(tmp_path / 'authorized_keys')
    instancefiles.write_file(path, b'ssh-ed25519 AAAA\n', 0o600)
    with open(path, 'rb') as f:
        assert f.read() == b'ssh-ed25519 AAAA\n'
    assert _mode(path) == 0o600


def test_write_file_never_replaces_a_file(tmp_path):
    path = tmp_path / 'meta_data.json'
    path.write_bytes(b'old')
    with pytest.raises(FileExistsError):
        instancefiles.write_file(str(path), b'new', 0o600)
    assert path.read_bytes() == b'old'


def test_write_file_never_follows_a_symlink(tmp_path):
    target = tmp_path / 'elsewhere'
    link = tmp_path / 'user_data'
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        instancefiles.write_file(str(link), b'data', 0o600)
    assert not target.exists()
