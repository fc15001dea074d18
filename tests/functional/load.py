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


"""Many servers at once through nova's REST API, with ports on real OVS.

:class:`LoadMixin` (before ``DockerFunctionalTestCase`` in the bases)
lifts the quotas and allocation ratios that would stop hundreds of
servers on one host, keeps nova's default ``max_concurrent_builds``, lets
casts stay casts (builds run on the compute's own threads, as in a real
cloud), and gives the servers ports on a bridge of the test's own (a
unique name, removed at the end). Its helpers post and delete servers
from many client threads at once and wait for all of them through the
API; :func:`process` gives this process's RSS, descriptors and threads
(nova-compute runs in it, with the other services); :meth:`leftovers`
lists everything the servers left on the host, from
:mod:`tests.functional.leftovers` plus OVS ports and child processes
(a privsep daemon would be one).

Used by tests/functional/test_load.py (CI sizes) and
benchmarks/bench_api_load.py (full sizes).
"""

import collections
import concurrent.futures
import copy
import ipaddress
import os
import re
import threading
import time

from nova.api.openstack import common as api_common
from nova import context as nova_context
from nova import objects
from oslo_utils import uuidutils

from tests.functional import leftovers
from tests.functional import test_networking

#: Addresses of the load ports: RFC 2544's benchmarking range, room for
#: 130000 ports.
LOAD_NET = ipaddress.ip_network('198.18.0.0/15')
#: Seconds between two looks at the server list while waiting.
POLL = 0.25
#: Seconds after the last change before a periodic pass is measured: the
#: driver's state cache inspects the containers it changed in the last 2.
QUIET = 3
#: Container names and ids in a Docker API path.
_PATH_ID = re.compile(r'/(nova-[0-9a-f-]{36}[\w-]*|[0-9a-f]{64})(?=/|$)')

PassFigures = collections.namedtuple('PassFigures', 'seconds calls')


def process():
    """This process's RSS (bytes), open descriptors, threads, and threads
    that are not workers of a thread pool (``other_threads``): nova's
    pools (futurist) add a worker per task submitted until they reach their
    size, and keep it.
    """
    with open('/proc/self/status') as f:
        status = dict(line.split(':', 1) for line in f)
    threads = threading.enumerate()
    return {'rss': int(status['VmRSS'].split()[0]) * 1024,
            'fds': len(os.listdir('/proc/self/fd')),
            'threads': len(threads),
            'other_threads': len([t for t in threads if
                                  type(t).__module__ != 'futurist._thread'])}


def children():
    """The processes whose parent is this one, as ``pid name``."""
    found = []
    me = str(os.getpid())
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold blanks.
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        if stat[stat.rindex(')') + 2:].split()[1] == me:
            found.append('%s %s' % (pid, name))
    return found


def at_once(fn, items, workers=None):
    """``fn(item)`` for every item, ``workers`` (default: all) at a time;
    the results in order.
    """
    items = list(items)
    with concurrent.futures.ThreadPoolExecutor(
            workers or len(items) or 1) as pool:
        return list(pool.map(fn, items))


class LoadMixin(test_networking.OvsPortsMixin):
    """Hundreds of servers on one compute, booted through the API."""

    #: Builds run on the compute's threads, bounded by nova's own
    #: max_concurrent_builds (default 10), not by the API caller.
    CAST_AS_CALL = False

    def configure(self, docker_url):
        super().configure(docker_url)
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.flags(cpu_allocation_ratio=1000.0, ram_allocation_ratio=100.0,
                   disk_allocation_ratio=1000.0)
        # Every server in one answer of GET /servers/detail.
        self.flags(max_limit=5000, group='api')

    # Ports on a bridge of our own

    def setup_load_ports(self):
        """Ports on a new OVS bridge of this test (``self.bridge``)."""
        self.setup_ovs_ports()

    def _documentation_prefixes(self):
        super()._documentation_prefixes()
        self.subnet4.update(
            cidr=str(LOAD_NET), gateway_ip=str(LOAD_NET[1]),
            dns_nameservers=[],
            allocation_pools=[{'start': str(LOAD_NET[2]),
                               'end': str(LOAD_NET[-2])}])

    def load_port(self, index):
        """A port with ``LOAD_NET``'s address ``index + 2`` (v4 only).

        Its id is new: NeutronFixture's first port has the same id in
        every test, so its host link (tap + id) would collide with
        another test's running at the same time.
        """
        port_id = uuidutils.generate_uuid()
        port = copy.deepcopy(self.neutron.default_port)
        self.neutron._ports[port_id] = port
        port.update({
            'id': port_id,
            'mac_address': 'fa:16:3e:%02x:%02x:%02x' % (
                index >> 16 & 0xff, index >> 8 & 0xff, index & 0xff),
            'fixed_ips': [{'ip_address': str(LOAD_NET[index + 2]),
                           'subnet_id': self.subnet4['id']}],
            'binding:vif_type': 'ovs',
            'binding:vif_details': {'port_filter': True,
                                    'datapath_type': 'netdev',
                                    'bridge_name': self.bridge},
            'status': 'ACTIVE',
        })
        return port_id

    def ovs_ports(self):
        return test_networking._ovs('list-ports', self.bridge).split()

    # Servers, many at once

    def server_body(self, image_id, flavor_id, name, port_id=None):
        networks = [{'port': port_id}] if port_id else 'none'
        return self._build_server(name=name, image_uuid=image_id,
                                  flavor_id=flavor_id, networks=networks)

    def post_all(self, bodies, workers=None):
        """POST every server body from its own client thread (at most
        ``workers`` at a time); the servers as the API answered.
        """
        return at_once(lambda body: self.api.post_server({'server': body}),
                       bodies, workers)

    def statuses(self, ids=None):
        """``{server id: (status, fault)}`` of every server (or of those in
        ``ids``), one request. With ``ids``, read from the cell database
        with the API's own mapping of states to statuses: listing
        hundreds of servers through the API after each poll would cost
        more than the builds it waits for.
        """
        if ids is None:
            return {s['id']: (s['status'], s.get('fault'))
                    for s in self.api.get_servers(detail=True)}
        found = objects.InstanceList.get_by_filters(
            self.ctxt, {'uuid': list(ids), 'deleted': False},
            expected_attrs=['fault'])
        return {i.uuid: (api_common.status_from_state(
                    i.vm_state, i.task_state), i.fault and i.fault.message)
                for i in found}

    def buried(self, ids):
        """``{server id: ('ERROR', fault)}`` of the servers of ``ids`` that
        nova put in cell0: they could not be scheduled and never build.
        """
        cell0 = objects.CellMapping.get_by_uuid(
            self.ctxt, objects.CellMapping.CELL0_UUID)
        with nova_context.target_cell(self.ctxt, cell0) as cctxt:
            found = objects.InstanceList.get_by_filters(
                cctxt, {'uuid': list(ids)}, expected_attrs=['fault'])
        return {i.uuid: ('ERROR', i.fault and i.fault.message)
                for i in found}

    def wait_all(self, ids, status, timeout, poll=None):
        """Wait until every server in ``ids`` shows ``status`` (None: is
        gone), looking every ``poll`` seconds; fail at once when one goes
        to ERROR. Then check that the API shows it too.
        """
        ids = set(ids)
        deadline = time.monotonic() + timeout
        while True:
            seen = self.statuses(ids)
            errors = {i: seen[i] for i in ids & set(seen)
                      if seen[i][0] == 'ERROR' and status != 'ERROR'}
            if not errors and status is not None and ids - set(seen):
                errors = self.buried(ids - set(seen))
            if errors:
                self.fail('servers in ERROR: %s' % errors)
            if status is None:
                pending = ids & set(seen)
            else:
                pending = {i for i in ids if seen.get(i, ('',))[0] != status}
            if not pending:
                break
            if time.monotonic() >= deadline:
                self.fail('%d of %d servers not %s after %ss: %s' % (
                    len(pending), len(ids), status or 'gone', timeout,
                    sorted(pending)[:5]))
            time.sleep(poll or POLL)
        # What the API shows, once.
        shown = self.statuses()
        if status is None:
            self.assertEqual(set(), ids & set(shown))
        else:
            self.assertEqual({status}, {shown[i][0] for i in ids})

    def boot_all(self, bodies, timeout, workers=None):
        """Boot every body at once and wait until all are ACTIVE; the
        server ids.
        """
        ids = [s['id'] for s in self.post_all(bodies, workers)]
        self.wait_all(ids, 'ACTIVE', timeout)
        return ids

    def delete_all(self, ids, timeout, workers=None, poll=None):
        """DELETE every server at once and wait until all are gone."""
        at_once(self.api.delete_server, ids, workers)
        self.wait_all(ids, None, timeout, poll)

    def action_all(self, ids, action, status, timeout, workers=None,
                   poll=None):
        """POST ``{action: null}`` to every server at once (os-stop,
        os-start, ...) and wait until all show ``status``.
        """
        at_once(lambda i: self.api.post_server_action(i, {action: None}),
                ids, workers)
        self.wait_all(ids, status, timeout, poll)

    def periodic_pass(self):
        """Every periodic task of the compute manager once, as nova-compute
        runs them (all due), on a quiet host; its time and the Docker API
        calls it made (``Counter`` of ``"METHOD /path"``, container names
        and ids as ``{id}``).
        """
        # A container whose state this host changed a moment ago is
        # inspected (the engine's list can lag): one call per change, which
        # a quiet host does not have.
        time.sleep(QUIET)
        manager = self.compute.manager
        for name in manager._periodic_last_run:
            manager._periodic_last_run[name] = None
        calls = collections.Counter()

        def count(response, *args, **kwargs):
            request = response.request
            path = request.path_url.split('?')[0]
            path = re.sub(r'^/v[0-9.]+', '', path)
            calls['%s %s' % (request.method, _PATH_ID.sub('/{id}', path))] += 1

        session = self.driver._client._api
        session.hooks['response'].append(count)
        try:
            start = time.monotonic()
            manager.run_periodic_tasks(self.ctxt, raise_on_error=True)
            seconds = time.monotonic() - start
        finally:
            session.hooks['response'].remove(count)
        return PassFigures(seconds, calls)

    def drop_captures(self):
        """Forget the logs and notifications nova's fixtures collected, so
        that they do not count as this process's memory growth; returns
        the characters of log dropped.
        """
        self.notifier.reset()
        buffer = self.stdlog.logger._output
        dropped = buffer.tell()
        buffer.seek(0)
        buffer.truncate()
        return dropped

    def leftovers(self, server_ids, port_ids, children_before):
        """Everything the servers left behind (empty: nothing)."""
        path = base_instances_path()
        # Nova's image cache pass (a periodic task) registers the host in
        # instances_path: its own files, there before any server.
        nova_own = ['file %s' % os.path.join(path, name) for name in (
            'compute_nodes', 'locks',
            os.path.join('locks', 'nova-storage-registry-lock'))]
        found = [f for f in leftovers.of_host(
            self.docker, self.host, path, server_ids=server_ids,
            port_ids=port_ids) if f not in nova_own]
        found += ['OVS port %s' % p for p in self.ovs_ports()]
        found += ['process %s' % p for p in children()
                  if p not in children_before]
        return found


def base_instances_path():
    return test_networking.base.test.CONF.instances_path
