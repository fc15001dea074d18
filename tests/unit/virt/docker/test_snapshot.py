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

"""snapshot: commit the container, stream ``docker save`` into Glance.

The container store, the image store and the Glance facade are fakes
that keep one journal, so the tests see the order of events and what
reached Glance.
"""

import types
from unittest import mock

from glanceclient.common import http as glance_http
from nova.compute import task_states
import pytest

from novadocker.virt.docker import exception
from novadocker.virt.docker.image import store
from novadocker.virt.docker import snapshot

INSTANCE = types.SimpleNamespace(uuid='0f1e2d3c-0000-4000-8000-00000000000a')
IMAGE_ID = 'f0e1d2c3-0000-4000-8000-000000000002'
CHUNKS = [b'tar-part-1;', b'', b'tar-part-2;', b'end']


class Injected(Exception):
    pass


class Fakes(object):
    def __init__(self):
        self.journal = []
        self.fail = None
        self.uploaded = None

    def _step(self, name, *args):
        self.journal.append((name,) + args)
        if self.fail == name:
            raise Injected(name)

    # nova's update_task_state
    def update_task_state(self, task_state, expected_state=None):
        self._step('task', task_state, expected_state)

    # Containers
    def commit(self, instance, repository, tag):
        self._step('commit', instance.uuid, repository, tag)

    # ImageStore
    def save(self, image_id, chunk_size):
        self._step('save', image_id, chunk_size)
        try:
            for chunk in CHUNKS:
                self.journal.append(('chunk', chunk))
                yield chunk
        finally:
            self.journal.append(('save-closed',))

    def forget(self, image_id, instance=None, engine_back=None):
        self._step('forget', image_id)

    # Glance facade
    def get(self, context, image_id):
        self._step('get', image_id)
        return {'id': image_id, 'name': 'web-snap', 'status': 'queued',
                'properties': {'user': 'kept by glance'}}

    def upload(self, context, image_id, metadata, body):
        self._step('upload', image_id, metadata)
        # Glance's client reads the body in pieces.
        data = []
        while True:
            piece = body.read(4)
            if not piece:
                break
            if self.fail == 'upload-stops':
                raise Injected('upload-stops')
            data.append(piece)
        self.uploaded = b''.join(data)
        if self.fail == 'upload-read':
            raise Injected('upload-read')


@pytest.fixture
def fakes():
    return Fakes()


def _take(fakes):
    snapshot.take('ctx', INSTANCE, IMAGE_ID, fakes.update_task_state,
                  fakes, fakes, fakes)


def test_commit_then_stream_the_saved_image_to_glance(fakes):
    _take(fakes)
    steps = [entry[0] for entry in fakes.journal]
    # The save is read only while Glance reads the body: streamed, never
    # held whole.
    assert steps == ['get', 'task', 'commit', 'task', 'upload', 'save',
                     'chunk', 'chunk', 'chunk', 'chunk', 'save-closed']
    assert fakes.journal[1] == ('task', task_states.IMAGE_PENDING_UPLOAD,
                                None)
    assert fakes.journal[2] == ('commit', INSTANCE.uuid, store.REPOSITORY,
                                IMAGE_ID)
    assert fakes.journal[3] == ('task', task_states.IMAGE_UPLOADING,
                                task_states.IMAGE_PENDING_UPLOAD)
    # In pieces of the size glanceclient reads.
    assert fakes.journal[5] == ('save', IMAGE_ID,
                                glance_http.CHUNKSIZE)
    assert fakes.uploaded == b''.join(CHUNKS)


def test_upload_failing_midway_stops_the_save(fakes):
    fakes.fail = 'upload-stops'
    with pytest.raises(Injected):
        _take(fakes)
    steps = [entry[0] for entry in fakes.journal]
    # The save's stream is closed at once, not left to the garbage
    # collector; then the committed image is forgotten.
    assert steps[-4:] == ['save', 'chunk', 'save-closed', 'forget']


def test_glance_gets_the_format_and_the_name_it_was_given(fakes):
    _take(fakes)
    name, image_id, metadata = fakes.journal[4]
    assert (name, image_id) == ('upload', IMAGE_ID)
    assert metadata == {'name': 'web-snap', 'container_format': 'docker',
                        'disk_format': 'raw'}


def test_image_gone_in_glance_commits_nothing(fakes):
    fakes.fail = 'get'
    with pytest.raises(Injected):
        _take(fakes)
    assert [e[0] for e in fakes.journal] == ['get']


def test_failed_commit_uploads_nothing(fakes):
    fakes.fail = 'commit'
    with pytest.raises(Injected):
        _take(fakes)
    assert [e[0] for e in fakes.journal] == ['get', 'task', 'commit']
    assert fakes.uploaded is None


@pytest.mark.parametrize('step', ['task', 'save', 'upload', 'upload-read'])
def test_failure_after_the_commit_forgets_the_committed_image(fakes, step):
    if step == 'task':
        # The second task update (after the commit) fails.
        update = _fail_second(fakes.update_task_state)
    else:
        fakes.fail, update = step, fakes.update_task_state
    with pytest.raises(Injected):
        snapshot.take('ctx', INSTANCE, IMAGE_ID, update, fakes, fakes, fakes)
    assert fakes.journal[-1] == ('forget', IMAGE_ID)


def _fail_second(update):
    calls = []

    def second_fails(task_state, expected_state=None):
        calls.append(task_state)
        if len(calls) == 2:
            raise Injected('task')
        return update(task_state, expected_state)
    return second_fails


def test_store_forget_removes_our_tag_and_tolerates_its_absence():
    client = mock.Mock()
    images = store.ImageStore(client, mock.Mock())
    images.forget(IMAGE_ID)
    client.remove_image.assert_called_once_with(store.image_ref(IMAGE_ID))
    for error in (exception.DockerNotFound(what='image', reason='gone'),
                  exception.DockerServerError(what='rm', reason='busy')):
        client.remove_image.side_effect = error
        images.forget(IMAGE_ID)


def test_store_forget_waits_for_an_engine_that_died():
    client = mock.Mock()
    client.remove_image.side_effect = [
        exception.DockerUnreachable(url='unix:///x', reason='refused'), None]
    images = store.ImageStore(client, mock.Mock())
    back = mock.Mock(return_value=True)
    images.forget(IMAGE_ID, engine_back=back)
    back.assert_called_once_with()
    assert client.remove_image.call_count == 2


def test_store_forget_gives_up_when_the_engine_stays_away():
    client = mock.Mock()
    client.remove_image.side_effect = exception.DockerUnreachable(
        url='unix:///x', reason='refused')
    images = store.ImageStore(client, mock.Mock())
    images.forget(IMAGE_ID, engine_back=mock.Mock(return_value=False))
    assert client.remove_image.call_count == 1
