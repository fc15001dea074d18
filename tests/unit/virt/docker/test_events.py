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

import threading

import fixtures
from nova import test
from nova.virt import event as virtevent

from novadocker.virt.docker import events
from novadocker.virt.docker import exception
from novadocker.virt.docker import labels

UUID = '9c3b2d4e-1111-4222-8333-444455556666'


def _event(action, uuid=UUID):
    attributes = {labels.LABEL_UUID: uuid} if uuid else {}
    return {'Type': 'container', 'Action': action, 'time': 1700000000,
            'Actor': {'ID': 'abc', 'Attributes': attributes}}


class LifecycleEventTestCase(test.NoDBTestCase):
    def test_transitions(self):
        for action, transition in [
                ('start', virtevent.EVENT_LIFECYCLE_STARTED),
                ('die', virtevent.EVENT_LIFECYCLE_STOPPED),
                ('pause', virtevent.EVENT_LIFECYCLE_PAUSED),
                ('unpause', virtevent.EVENT_LIFECYCLE_RESUMED)]:
            event = events.lifecycle_event(_event(action))
            self.assertEqual(UUID, event.uuid)
            self.assertEqual(transition, event.transition)

    def test_ignored(self):
        self.assertIsNone(events.lifecycle_event(_event('exec_create')))
        self.assertIsNone(events.lifecycle_event(_event('die', uuid=None)))


class _Client(object):
    """Hands out one scripted event stream (or error) per connection."""

    def __init__(self, *streams):
        self.streams = list(streams)
        self.calls = []

    def events(self, filters, since=None):
        self.calls.append((filters, since))
        item = self.streams.pop(0) if self.streams else []
        if isinstance(item, Exception):
            raise item
        return iter(item), lambda: None


class EventWatcherTestCase(test.NoDBTestCase):
    def _watch(self, client, count):
        got = []
        done = threading.Event()

        def emit(event):
            got.append(event.transition)
            if len(got) == count:
                done.set()

        watcher = events.EventWatcher(client, 'cmp1', emit)
        watcher.start()
        self.assertTrue(done.wait(10))
        watcher.stop()
        return got

    def test_emits_and_filters_by_our_labels(self):
        client = _Client([_event('die'), _event('exec_start'),
                          _event('start')])
        got = self._watch(client, 2)
        self.assertEqual([virtevent.EVENT_LIFECYCLE_STOPPED,
                          virtevent.EVENT_LIFECYCLE_STARTED], got)
        filters = client.calls[0][0]
        self.assertEqual(['container'], filters['type'])
        self.assertIn('org.openstack.nova.managed-by=novadocker',
                      filters['label'])
        self.assertIn('org.openstack.nova.host=cmp1', filters['label'])

    def test_reconnects_after_failure_and_resumes_since_last_event(self):
        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.virt.docker.events.RETRY_MIN', 0.01))
        client = _Client(
            [_event('start')],
            exception.DockerUnreachable(url='x', reason='restarting'),
            [_event('pause')])
        got = self._watch(client, 2)
        self.assertEqual([virtevent.EVENT_LIFECYCLE_STARTED,
                          virtevent.EVENT_LIFECYCLE_PAUSED], got)
        self.assertEqual(1700000000, client.calls[1][1])
        self.assertEqual(1700000000, client.calls[2][1])

    def test_stream_closed_at_once_backs_off_and_logs(self):
        # The engine accepts each connection and closes it at once: the
        # watcher waits 1, 2, 4... seconds (up to RETRY_MAX), and says so.
        waits = []
        client = _Client(*[[]] * 7)
        watcher = events.EventWatcher(client, 'cmp1', lambda e: None)

        def wait(delay):
            waits.append(delay)
            if len(waits) == 7:
                watcher._stopping.set()
            return watcher._stopping.is_set()

        self.useFixture(fixtures.MockPatchObject(watcher._stopping, 'wait',
                                                 side_effect=wait))
        logged = self.useFixture(fixtures.FakeLogger(
            name='novadocker.virt.docker.events'))
        watcher._run()
        self.assertEqual([1, 2, 4, 8, 16, 30, 30], waits)
        self.assertEqual(7, logged.output.count(
            'Docker closed the event stream'))

    def test_back_off_starts_again_after_an_event(self):
        waits = []
        client = _Client([], [], [_event('start')], [])
        watcher = events.EventWatcher(client, 'cmp1', lambda e: None)

        def wait(delay):
            waits.append(delay)
            if len(waits) == 4:
                watcher._stopping.set()
            return watcher._stopping.is_set()

        self.useFixture(fixtures.MockPatchObject(watcher._stopping, 'wait',
                                                 side_effect=wait))
        watcher._run()
        self.assertEqual([1, 2, 1, 2], waits)

    def test_survives_unexpected_errors(self):
        self.useFixture(fixtures.MonkeyPatch(
            'novadocker.virt.docker.events.RETRY_MIN', 0.01))
        client = _Client(ValueError('bad payload'), [_event('die')])
        got = self._watch(client, 1)
        self.assertEqual([virtevent.EVENT_LIFECYCLE_STOPPED], got)
