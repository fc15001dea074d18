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

"""Undoing a failed build: each step undone once, newest first.

A build (``spawn``) creates resources one after the other: disks, rendered
files, the network, the container. Each module creates its resource and
offers one call that removes it whatever state it is in. The build
registers that call *before* creating the resource, so that a step that
fails halfway is undone as well, and :class:`Rollback` runs the registered
calls once, in reverse order, when the build fails. The modules
themselves never undo on failure: every resource has this one owner of
its removal.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class Rollback(object):
    """``with Rollback(instance) as undo: undo.add(f, *args); ...``"""

    def __init__(self, instance):
        self._instance = instance
        self._steps = []

    def add(self, undo, *args):
        """Call ``undo(*args)`` if the build fails from now on."""
        self._steps.append((undo, args))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            return False
        LOG.info('Build failed (%s); undoing what it created', exc_value,
                 instance=self._instance)
        for undo, args in reversed(self._steps):
            try:
                undo(*args)
            except Exception:
                # The build's own error is the one to report; the rest is
                # removed all the same.
                LOG.exception('Could not undo %s', _name(undo),
                              instance=self._instance)
        return False


def _name(undo):
    return getattr(undo, '__qualname__', repr(undo))
