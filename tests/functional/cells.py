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


"""Nova's cell database fixture, safe for parallel builds on native threads.

nova's ``CellDatabases`` keeps the cell that untargeted database calls
use in one process-wide attribute, guarded by a writer-preferring
reader/writer lock: ``target_cell`` holds the read lock for its whole
block and takes the write lock to switch the attribute, and every
untargeted ``get_context_manager()`` takes the read lock. Under native
threads nova adds ``DatabaseWriteLock``, a lock per database around every
writer transaction. The two locks are taken in both orders, and parallel
builds deadlock:

* a conductor thread inside ``target_cell`` (read lock held) starts a
  writer transaction and waits for the database's write lock;
* a thread already inside a writer transaction on that database (the
  service heartbeat's ``service_update`` reads the service row through a
  nested ``service_get``) asks ``get_context_manager()`` for the read
  lock;
* a third thread entering ``target_cell`` for another cell waits for the
  write lock, and from then on no reader is admitted.

:class:`ThreadLocalCellDatabases` removes the process-wide switch: the
cell a thread targeted last is remembered for that thread only, untargeted
calls of other threads get the default cell (cell1, where the compute
services live), and no lock is needed. The per-database writer lock of
``DatabaseWriteLock`` stays; it is never taken while waiting for another
lock.
"""

import contextlib
import threading

from nova.tests import fixtures as nova_fixtures


class ThreadLocalCellDatabases(nova_fixtures.CellDatabases):
    """``CellDatabases`` with the targeted cell kept per thread."""

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    @contextlib.contextmanager
    def _wrap_target_cell(self, context, cell_mapping):
        if cell_mapping:
            desired = self._ctxt_mgrs[cell_mapping.database_connection]
        else:
            desired = self._default_ctxt_mgr
        previous = getattr(self._local, 'ctxt_mgr', None)
        self._local.ctxt_mgr = desired
        try:
            with self._real_target_cell(context, cell_mapping) as targeted:
                yield targeted
        finally:
            self._local.ctxt_mgr = previous

    def _wrap_get_context_manager(self, context):
        connection = getattr(context, 'db_connection', None)
        if connection:
            return connection
        return (getattr(self._local, 'ctxt_mgr', None) or
                self._default_ctxt_mgr)
