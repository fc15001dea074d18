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

"""A snapshot streamed into a Glance served over real HTTP.

The driver's snapshot path (``snapshot.take``: commit, ``docker save`` read
on its own thread, nova's ``glance.API().update()`` and glanceclient's
chunked upload) runs against the real engine at ``$DOCKER_HOST`` and a
Glance v2 API on this host (``tests.glance_http``); the small CI version
of ``benchmarks/bench_snapshot.py``.
"""

import io
import json
import tarfile
import uuid

import docker
from nova import context as nova_context
from nova.image import glance as nova_glance
from nova import objects
import pytest

from novadocker.virt.docker import client as docker_client
from novadocker.virt.docker import containers as docker_containers
from novadocker.virt.docker.image import glance as image_glance
from novadocker.virt.docker.image import store as image_store
from novadocker.virt.docker import labels
from novadocker.virt.docker import snapshot
from novadocker.virt.docker import translator
from tests.integration import test_glance_http
# A Glance v2 API on this host, and the bytes hashed in this process.
from tests.integration.test_glance_http import glance_api  # noqa: F401
from tests.integration.test_glance_http import hashed  # noqa: F401

HOST = 'snapshot-http-%s' % uuid.uuid4().hex[:8]
MIB = 1024 * 1024


@pytest.fixture
def container(docker_api, busybox_image):
    """A stopped container of this host's driver that wrote /marker and
    3 MiB of random data (several of glanceclient's 1 MiB reads).
    """
    objects.register_all()
    instance = objects.Instance(uuid=str(uuid.uuid4()))
    wanted = labels.owner_labels(HOST)
    wanted[labels.LABEL_UUID] = instance.uuid
    marker = 'snap-%s' % uuid.uuid4()
    cid = docker_api.create_container(
        busybox_image, name=translator.container_name(instance.uuid),
        labels=wanted, command=['sh', '-c', 'echo %s > /marker && head -c '
                                '%d /dev/urandom > /data' % (marker,
                                                             3 * MIB)])
    docker_api.start(cid)
    assert docker_api.wait(cid, timeout=60)['StatusCode'] == 0
    yield instance, marker
    docker_api.remove_container(cid, force=True)


def _layer_file(tarball, path):
    with tarfile.open(fileobj=io.BytesIO(tarball)) as outer:
        manifest = json.load(outer.extractfile('manifest.json'))
        with tarfile.open(fileobj=outer.extractfile(
                manifest[0]['Layers'][-1])) as layer:
            return layer.extractfile(path).read()


def test_snapshot_streams_docker_save_into_glance(
        docker_url, docker_api, glance_api, container,  # noqa: F811
        hashed):  # noqa: F811
    instance, marker = container
    image_id = glance_api.add(None, name='snap', status='queued', size=None)
    client = docker_client.DockerClient(docker_url)
    glance = image_glance.GlanceImages(nova_glance.API())
    context = nova_context.RequestContext(
        'user', 'project', auth_token=test_glance_http.TOKEN,
        is_admin=False)
    ref = image_store.image_ref(image_id)
    try:
        snapshot.take(context, instance, image_id, lambda **kw: None,
                      docker_containers.Containers(client, HOST),
                      image_store.ImageStore(client, glance), glance)
        meta, data, _path = glance_api.images[image_id]
        assert meta['status'] == 'active'
        assert (meta['container_format'], meta['disk_format']) == (
            'docker', 'raw')
        assert meta['size'] == len(data) > 3 * MIB
        # Glance got Docker's own tarball of the committed image.
        assert _layer_file(data, 'marker') == marker.encode() + b'\n'
        assert docker_api.inspect_image(ref)['RepoTags'] == [ref]
    finally:
        try:
            docker_api.remove_image(ref)
        except docker.errors.NotFound:
            pass
    # Streamed once, chunked, and hashed by nobody on this side (Glance
    # computes its checksums itself).
    assert [c for c in glance_api.calls if c[0] == 'PUT'] == [
        ('PUT', '/v2/images/%s/file' % image_id)]
    assert hashed == {}
