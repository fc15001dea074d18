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

"""Hostile image tarballs refused by the image store, on the real engine.

These cases of doc/reliability.rst's "Hostile input" end the same way
whatever Nova does around them: the store raises ImageUnacceptable
(which aborts a build, as tests/functional/test_hostile_input.py shows
through Nova's API with two of them) and the engine has loaded nothing.
No file on the host is reached through the image.
"""

import os

from nova import exception
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker.image import glance as image_glance
from novadocker.virt.docker.image import store as image_store
from tests import hostile_tarballs as ht
from tests.integration import test_image_loading

#: name -> tarball(probe file, probe directory)
REFUSED = {
    'tar-empty': lambda probe, probe_dir: b'',
    'tar-not-tar': lambda probe, probe_dir: ht.not_tar(),
    'tar-missing-layer': lambda probe, probe_dir:
        ht.manifest_naming_missing_layer(),
    'tar-dotdot': lambda probe, probe_dir: ht.outer_member('../../nd-esc'),
    'tar-absolute': lambda probe, probe_dir: ht.outer_member(
        '/tmp/nd-escape'),
    'layer-absolute': lambda probe, probe_dir: ht.layer_member(
        '/tmp/nd-escape'),
    'layer-symlink-out-rel': lambda probe, probe_dir: ht.symlink_out(
        probe, relative=True),
    'layer-write-through-symlink': lambda probe, probe_dir:
        ht.write_through_symlink(probe_dir),
    # Docker refuses them half way through its unpacking.
    'layer-duplicates': lambda probe, probe_dir: ht.duplicate_entries(),
    'oci-foreign-only': lambda probe, probe_dir: ht.foreign_platforms_only(),
}


@pytest.fixture
def probes(tmp_path):
    probe = tmp_path / 'probe'
    probe.write_bytes(b'host-secret')
    probe_dir = tmp_path / 'probe-dir'
    probe_dir.mkdir()
    return str(probe), str(probe_dir)


def _has(docker_api, ref):
    return bool(docker_api.images(name=ref))


def test_refused_tarballs_load_nothing(docker_url, docker_api, probes):
    glance = test_image_loading.FakeGlance()
    store = image_store.ImageStore(docker_client.DockerClient(docker_url),
                                   image_glance.GlanceImages(glance),
                                   by_name=False)
    probe, probe_dir = probes
    accepted = []
    for name, make in sorted(REFUSED.items()):
        image_id = glance.add(make(probe, probe_dir), name='hostile-data')
        ref = image_store.image_ref(image_id)
        try:
            store.ensure(None, None, glance.image_meta(image_id))
        except exception.ImageUnacceptable:
            pass
        else:
            accepted.append(name)
            docker_api.remove_image(ref)
        assert not _has(docker_api, ref), name
    assert accepted == []
    assert os.listdir(probe_dir) == []
    with open(probe, 'rb') as f:
        assert f.read() == b'host-secret'
