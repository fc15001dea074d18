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

"""The power state cache and the driver's own power operations, on a real
engine: the periodic sync (``get_info`` with the cache) right after a
power operation never sees the state from before it."""

from unittest import mock
import uuid

from nova.compute import power_state
import nova.conf
from nova import context as nova_context
from nova import objects
from nova.tests.unit import fake_instance
from nova.virt import virtapi
from oslo_config import fixture as cfg_fixture
import pytest

import novadocker.privsep
from novadocker.virt.docker import driver as docker_driver
from novadocker.virt.docker.image import store as image_store
from novadocker.virt.docker import labels

CONF = nova.conf.CONF


@pytest.fixture
def driver(docker_url, docker_api, tmp_path):
    fixture = cfg_fixture.Config(CONF)
    fixture.setUp()
    host = 'nd-pc-%s' % uuid.uuid4().hex[:8]
    fixture.config(host=host, instances_path=str(tmp_path))
    # A cache that would stay valid for the whole test.
    fixture.config(group='docker', host_url=docker_url, watch_events=False,
                   stop_timeout=1, state_cache_seconds=3600)
    # The tests run as root: privileged steps (the instance's shared
    # volumes directory) run in-process, as in tests/functional/base.py.
    in_process = mock.patch.object(novadocker.privsep.sys_admin_pctxt,
                                   'client_mode', False)
    try:
        with in_process:
            yield docker_driver.DockerDriver(virtapi.VirtAPI())
    finally:
        wanted = labels.owner_labels(host)
        for c in docker_api.containers(all=True, filters={
                'label': labels.label_filter(wanted)}):
            docker_api.remove_container(c['Id'], force=True)
        fixture.cleanUp()


@pytest.fixture
def image_meta(docker_api, busybox_image):
    image_id = str(uuid.uuid4())
    docker_api.tag(busybox_image, image_store.REPOSITORY, image_id)
    yield objects.ImageMeta.from_dict({
        'id': image_id, 'name': 'busybox', 'container_format': 'docker',
        'disk_format': 'raw',
        'properties': {'os_command_line': 'sleep 3600'}})
    docker_api.remove_image(image_store.image_ref(image_id))


def _instance():
    inst = fake_instance.fake_instance_obj(
        nova_context.get_admin_context(), uuid=str(uuid.uuid4()),
        hostname='pc', metadata={}, vm_state='active', task_state=None)
    inst.metadata = {}
    inst.system_metadata = {}
    inst.flavor.memory_mb = 64
    return inst


def test_sync_after_each_power_operation_sees_the_new_state(driver,
                                                            image_meta):
    ctxt = nova_context.get_admin_context()
    inst = _instance()
    driver.spawn(ctxt, inst, image_meta, [], None, {})
    try:
        _power_steps(driver, ctxt, inst)
    finally:
        # Everything the spawn made (the instance's shared volumes
        # directory is a mount).
        driver.destroy(ctxt, inst, None)


def _power_steps(driver, ctxt, inst):
    assert driver.get_info(inst).state == power_state.RUNNING

    steps = [
        (lambda: driver.power_off(inst), power_state.SHUTDOWN),
        (lambda: driver.power_on(ctxt, inst, None), power_state.RUNNING),
        (lambda: driver.pause(inst), power_state.PAUSED),
        (lambda: driver.unpause(inst), power_state.RUNNING),
        (lambda: driver.soft_delete(inst), power_state.SHUTDOWN),
        (lambda: driver.restore(inst), power_state.RUNNING),
    ]
    for operation, expected in steps:
        operation()
        assert driver.get_info(inst).state == expected
