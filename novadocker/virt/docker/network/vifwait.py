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

"""Wiring an instance's ports while waiting for Neutron to report them
plugged (``network-vif-plugged``)."""

from nova import exception
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def plugged_events(network_info, timeout):
    """The events to wait for: only ports Neutron has not activated yet."""
    if not timeout:
        return []
    return [('network-vif-plugged', vif['id']) for vif in network_info
            if vif.get('active', True) is False]


def setup(virtapi, instance, network_info, timeout, fatal, wire):
    """``wire()`` (which wires ``network_info``'s ports) inside Nova's
    event wait.

    Returns what ``wire`` returns. A timeout with ``fatal`` set raises
    VirtualInterfaceCreateException, which aborts the build; the build's
    rollback then removes what was wired (``network.teardown``).
    """
    events = plugged_events(network_info, timeout)

    def failed(event_name, instance):
        LOG.error('Neutron reported failure on event %s', event_name,
                  instance=instance)
        if fatal:
            raise exception.VirtualInterfaceCreateException()

    result = None
    try:
        with virtapi.wait_for_instance_event(instance, events,
                                             timeout=timeout,
                                             error_callback=failed):
            result = wire()
    except exception.InstanceEventTimeout:
        if fatal:
            LOG.error('Timed out waiting for Neutron to plug %s',
                      [e[1] for e in events], instance=instance)
            raise exception.VirtualInterfaceCreateException()
        LOG.warning('Timed out waiting for network-vif-plugged; going on '
                    '(vif_plugging_is_fatal is off)', instance=instance)
    return result
