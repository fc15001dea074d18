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

"""Docker's event stream turned into Nova lifecycle events."""

import threading
import time

from nova.virt import event as virtevent
from oslo_log import log as logging

from novadocker.virt.docker import exception
from novadocker.virt.docker import labels

LOG = logging.getLogger(__name__)

TRANSITIONS = {
    'start': virtevent.EVENT_LIFECYCLE_STARTED,
    'die': virtevent.EVENT_LIFECYCLE_STOPPED,
    'pause': virtevent.EVENT_LIFECYCLE_PAUSED,
    'unpause': virtevent.EVENT_LIFECYCLE_RESUMED,
}
RETRY_MIN = 1
RETRY_MAX = 30


def lifecycle_event(docker_event):
    """A LifecycleEvent for one Docker event, or None if Nova needs none."""
    transition = TRANSITIONS.get(docker_event.get('Action'))
    attributes = docker_event.get('Actor', {}).get('Attributes', {})
    uuid = attributes.get(labels.LABEL_UUID)
    if labels.LABEL_ROLE in attributes:
        # A helper container (the network sandbox), not the instance.
        return None
    if transition is None or uuid is None:
        return None
    return virtevent.LifecycleEvent(uuid, transition)


class EventWatcher(object):
    """Follows our containers' events in a daemon thread.

    The thread reconnects, with a bounded back-off, whenever the stream
    ends (for instance when dockerd restarts), asking Docker to replay what
    happened since the last event it saw.  The back-off starts again from
    its minimum only once a stream has proved healthy (it delivered an
    event, or stayed open for ``RETRY_MAX`` seconds): a stream that the
    engine closes at once is reopened ever more slowly, and each loss is
    logged.
    """

    def __init__(self, client, host, emit):
        self._client = client
        self._filters = {
            'type': ['container'],
            'event': sorted(TRANSITIONS),
            'label': labels.label_filter(labels.owner_labels(host)),
        }
        self._emit = emit
        self._stopping = threading.Event()
        self._close = None
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run,
                                        name='novadocker-events',
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout=5):
        self._stopping.set()
        if self._close is not None:
            self._close()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self):
        since = time.time()
        delay = RETRY_MIN
        while not self._stopping.is_set():
            try:
                stream, self._close = self._client.events(self._filters,
                                                          since=since)
                opened = time.monotonic()
                for docker_event in stream:
                    delay = RETRY_MIN
                    since = docker_event.get('time', since)
                    self._dispatch(docker_event)
                if self._stopping.is_set():
                    break
                if time.monotonic() - opened >= RETRY_MAX:
                    delay = RETRY_MIN
                LOG.warning('Docker closed the event stream, reconnecting '
                            'in %ss', delay)
            except exception.DockerDriverException as e:
                if self._stopping.is_set():
                    break
                LOG.warning('Docker event stream lost, retrying in %ss: %s',
                            delay, e)
            except Exception:
                # Keep the watcher alive whatever went wrong; the periodic
                # power state sync still covers what it misses meanwhile.
                LOG.exception('Docker event watcher failed, retrying in %ss',
                              delay)
            self._stopping.wait(delay)
            delay = min(delay * 2, RETRY_MAX)

    def _dispatch(self, docker_event):
        event = lifecycle_event(docker_event)
        if event is not None:
            LOG.debug('Docker event %s for instance %s',
                      docker_event.get('Action'), event.uuid)
            self._emit(event)
