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

from novadocker.virt.docker import exception

LOG = logging.getLogger(__name__)


class Rollback(object):
    """``with Rollback(instance) as undo: undo.add(f, *args); ...``

    ``engine_back()``, when given, waits (bounded) for a Docker engine
    that stopped answering and says whether it answers again: a step that
    failed because the engine was unreachable (it died in the middle of
    the build) is then run once more, so that nothing the build made
    stays on the engine once it is back.
    """

    def __init__(self, instance, engine_back=None):
        self._instance = instance
        self._steps = []
        self._engine_back = engine_back
        # Whether the engine came back (None: not asked yet).
        self._back = None

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
            except exception.DockerUnreachable as e:
                self._again(undo, args, e)
            except Exception:
                # The build's own error is the one to report; the rest is
                # removed all the same.
                LOG.exception('Could not undo %s', _name(undo),
                              instance=self._instance)
        return False

    def _again(self, undo, args, error):
        """``undo`` failed on an unreachable engine: once it is back (the
        wait happens once per rollback), run it again.
        """
        if self._back is None:
            self._back = bool(self._engine_back and self._engine_back())
        if not self._back:
            LOG.error('Could not undo %s: the Docker engine does not answer '
                      '(%s); what the build made there stays', _name(undo),
                      error, instance=self._instance)
            return
        LOG.info('The Docker engine answers again; undoing %s',
                 _name(undo), instance=self._instance)
        try:
            undo(*args)
        except Exception:   # as above: the build's error is reported
            LOG.exception('Could not undo %s', _name(undo),
                          instance=self._instance)


def _name(undo):
    return getattr(undo, '__qualname__', repr(undo))
