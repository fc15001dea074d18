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

"""Power states of all our containers from a few Docker list calls.

Nova's ``_sync_power_states`` asks ``get_info`` about every instance of the
host, one at a time.  Inspecting each container would cost one Docker call
per instance per pass; :class:`StateCache` answers them all from one
refresh instead, which costs at most three list calls whatever the number
of containers:

1. every container of ours, with its status (running, paused, exited...);
2. only when some have exited: those that exited the way a stop ends
   (exit code 0, or 128 + SIGTERM or SIGINT), through Docker's ``exited``
   filter;
3. and those killed by SIGKILL (137), which is a stop (``docker kill``)
   unless the kernel's OOM killer sent it.  The list API does not say
   which, so such a container is inspected once, and what it said is kept
   while it stays exited with that code.

Any other exit is a crash; ``states.power_state_of`` decides, as it does
for an inspected container.  An instance whose container is not in the
refresh (created since, or gone) is inspected, and so is one whose
container this host changed a moment ago (the engine's list can still show
the state from before); the others keep answering from the refresh, so a
pass on a busy host costs a few calls per change, not one per instance.
"""

import signal
import threading
import time

from nova import exception as nova_exception
from oslo_log import log as logging

from novadocker.virt.docker import labels

LOG = logging.getLogger(__name__)

_STOPPED = [str(code) for code in
            (0, 128 + signal.SIGTERM, 128 + signal.SIGINT)]
_KILLED = str(128 + signal.SIGKILL)
# An exit code that ``states.power_state_of`` reads as a crash.
_CRASHED = 1
# Seconds after this host changed a container's state during which answers
# come from inspect: the engine's container list can show the state from
# before the change for a moment after stop or wait returned.
_SETTLE = 2.0


class StateCache(object):
    """``power_state`` answers from one refresh, at most ``ttl`` seconds
    old.
    """

    def __init__(self, client, containers, ttl):
        self._client = client
        self._containers = containers
        self._ttl = ttl
        self._lock = threading.Lock()
        self._states = {}       # instance uuid -> (State dict, container id)
        self._oom = {}          # container id -> OOMKilled, for 137 exits
        self._expires = 0.0
        self._refreshed = 0.0
        # instance uuid -> when the engine's list shows what this host
        # changed; None: every instance.
        self._settling = {}

    def invalidate(self):
        with self._lock:
            self._expires = 0.0

    def changed(self, instance_uuid=None):
        """This host changed the state of the instance's container (None:
        of any): answer for it from inspect for a moment, then from a
        refresh taken after that moment.
        """
        with self._lock:
            self._settling[instance_uuid] = time.monotonic() + _SETTLE

    def state(self, instance):
        """``(State dict, container id)`` of the instance's container, as
        ``states.power_state_of`` reads it.

        Raises InstanceNotFound when the container is missing or not ours.
        """
        with self._lock:
            now = time.monotonic()
            settled = max(self._settling.get(instance.uuid, 0.0),
                          self._settling.get(None, 0.0))
            known = None
            if now >= settled:
                if now >= self._expires or self._refreshed < settled:
                    self._refresh(now)
                known = self._states.get(instance.uuid)
        if known is not None:
            return known
        info = self._containers.inspect(instance)
        return info['State'], info['Id']

    def _refresh(self, now):
        found = {}
        exited = []
        for c in self._containers.list():
            uuid = (c.get('Labels') or {}).get(labels.LABEL_UUID)
            if uuid is None:
                continue
            status = c.get('State')
            found[uuid] = ({'Status': status, 'Paused': status == 'paused'},
                           c['Id'])
            if status == 'exited':
                exited.append(uuid)
        if exited:
            self._exit_codes(found, exited)
        self._states = found
        self._refreshed = now
        self._expires = now + self._ttl
        self._settling = {uuid: until for uuid, until in
                          self._settling.items() if until > now}

    def _exit_codes(self, found, exited):
        listed = self._containers.list
        stopped = {c['Id'] for c in listed(status=['exited'],
                                           exited=_STOPPED)}
        killed = {c['Id'] for c in listed(status=['exited'],
                                          exited=[_KILLED])}
        self._oom = {cid: oom for cid, oom in self._oom.items()
                     if cid in killed}
        for uuid in exited:
            state, cid = found[uuid]
            if cid in stopped:
                state['ExitCode'] = 0
            elif cid in killed:
                state['ExitCode'] = int(_KILLED)
                state['OOMKilled'] = self._oom_killed(cid)
            else:
                state['ExitCode'] = _CRASHED

    def _oom_killed(self, container_id):
        if container_id not in self._oom:
            try:
                info = self._client.inspect_container(container_id)
            except nova_exception.NovaException as e:
                LOG.debug('Cannot inspect %s: %s', container_id, e)
                return False
            self._oom[container_id] = bool(info['State'].get('OOMKilled'))
        return self._oom[container_id]
